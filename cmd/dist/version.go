package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/internal/gobuild"
	"github.com/distmr/dist/proto"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the dist version, Go version and platform, and how this dist hosts Go plugins",
		UsageText: `dist version
dist version --json > worker.json   # on a worker host; then: dist build --plugin --like worker.json ...`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", EnvVars: []string{"DIST_VERSION_JSON"}, Usage: "print JSON, including the build flags a plugin must match"},
		},
		Before: noArgs(""),
		Action: func(c *cli.Context) error {
			v := currentVersion()
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			plugins := "no (built without cgo)"
			if v.Plugins {
				plugins = "yes, built with " + strings.Join(v.Flags, " ")
			}
			fmt.Printf("dist %s (protocol %d) %s %s/%s, hosts Go plugins: %s\n",
				v.Version, v.Protocol, runtime.Version(), runtime.GOOS, runtime.GOARCH, plugins)
			return nil
		},
	}
}

// versionInfo is what `dist version --json` prints; `dist build --plugin
// --like FILE` reads the gobuild.Host fields back.
type versionInfo struct {
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	gobuild.Host
	Module artifact.Module `json:"module"`
	// Plugins says whether this dist can host Go plugins.
	Plugins bool `json:"plugins"`
}

func currentVersion() versionInfo {
	v := versionInfo{Version: proto.Version, Protocol: proto.ProtoVersion,
		Host: gobuild.Host{GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}}
	if self, err := artifact.Self(); err == nil {
		v.Flags, v.Module = self.BuildFlags(), self.Module
	}
	if exe, err := os.Executable(); err == nil {
		if info, err := artifact.Inspect(exe); err == nil {
			v.Plugins = artifact.HostOf("", info, proto.Version).CanLoad()
		}
	}
	return v
}
