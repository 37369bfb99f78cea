package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/proto"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "print the dist version, Go version and platform",
		UsageText: "dist version",
		Action: func(*cli.Context) error {
			fmt.Printf("dist %s (protocol %d) %s %s/%s\n", proto.Version, proto.ProtoVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
