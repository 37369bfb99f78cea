package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/gobuild"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:  "build",
		Usage: "go build an app the way dist ships it, then print its sha256, platform and mode",
		UsageText: `dist build ./userapp/wordcount -o wordcount            # static binary: CGO_ENABLED=0 -trimpath
dist build --plugin ./userapp/wordcount -o wordcount.so # plugin for workers running this dist
dist build --plugin --like worker.json ./myapp -o myapp.so   # worker.json from dist version --json on a worker`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, EnvVars: []string{"DIST_BUILD_OUTPUT"}, Usage: "the artifact to write (`FILE`)"},
			&cli.BoolFlag{Name: "plugin", EnvVars: []string{"DIST_BUILD_PLUGIN"}, Usage: "build a Go plugin (-buildmode=plugin) exporting App, with the toolchain and flags of the workers' dist"},
			&cli.StringFlag{Name: "like", EnvVars: []string{"DIST_BUILD_LIKE"}, Usage: "match the dist whose `dist version --json` output is in `FILE` (default: this dist)"},
		},
		Action: buildAction,
	}
}

func buildAction(c *cli.Context) error {
	pkgs, err := interspersed(c, map[string]bool{"output": false, "plugin": true, "like": false}, map[string]string{"o": "output"})
	if err != nil {
		return usageErr(err)
	}
	if len(pkgs) != 1 || c.String("output") == "" {
		return usageErr(fmt.Errorf("usage: dist build [--plugin] PKG -o OUT (one package, and the file to write)"))
	}
	host, err := gobuild.Self()
	if err != nil {
		return usageErr(err)
	}
	if like := c.String("like"); like != "" {
		if host, err = readHost(like); err != nil {
			return usageErr(err)
		}
	}
	o := gobuild.Options{Package: pkgs[0], Output: c.String("output"), Plugin: c.Bool("plugin"), Host: host}
	if !o.Plugin && c.String("like") == "" {
		o.Host = gobuild.Host{} // a binary targets GOOS/GOARCH from the environment
	}
	if o, err = gobuild.InDir(o); err != nil {
		return usageErr(err)
	}
	args, env := gobuild.Args(o)
	in := ""
	if o.Dir != "" {
		in = "(in " + o.Dir + ") "
	}
	fmt.Fprintf(os.Stderr, "%s%s go %s\n", in, strings.Join(env, " "), strings.Join(args, " "))
	res, err := gobuild.Build(c.Context, o)
	if err != nil {
		return cli.Exit("dist build: "+err.Error(), exitJobFailed)
	}
	mode := "static binary"
	switch {
	case o.Plugin:
		mode = "plugin"
	case res.Info.Interpreter != "":
		mode = "dynamic binary"
	}
	fmt.Printf("%s  %s  %s  %s  %d bytes  sha256 %s\n", o.Output, mode, res.Info.Platform(), res.Info.Go.Version, res.Size, res.SHA256)
	return nil
}

// readHost reads the output of `dist version --json`.
func readHost(path string) (gobuild.Host, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return gobuild.Host{}, fmt.Errorf("--like: %w", err)
	}
	var v versionInfo
	if err := json.Unmarshal(b, &v); err != nil || v.GoVersion == "" {
		return gobuild.Host{}, fmt.Errorf("--like %s: not the output of dist version --json (%v)", path, err)
	}
	if !v.Plugins {
		fmt.Fprintf(os.Stderr, "warning: the dist described in %s cannot host Go plugins (built without cgo)\n", path)
	}
	return v.Host, nil
}

// interspersed applies flags that follow the positional arguments
// (`dist build PKG -o OUT`: urfave/cli stops parsing at PKG) and returns
// the positional arguments. flags maps each flag name to whether it is a
// boolean; aliases map short names to those names.
func interspersed(c *cli.Context, flags map[string]bool, aliases map[string]string) ([]string, error) {
	var pos []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(pos, args[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if long, ok := aliases[name]; ok {
			name = long
		}
		isBool, ok := flags[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("flag provided but not defined: %s", a)
		case isBool && !hasValue:
			value = "true"
		case !hasValue:
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			value = args[i]
		}
		if err := c.Set(name, value); err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
	}
	return pos, nil
}
