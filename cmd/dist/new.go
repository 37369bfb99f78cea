package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/scaffold"
)

func newCommand() *cli.Command {
	return &cli.Command{
		Name:  "new",
		Usage: "create a new app: a Go module outside this repository that builds against your dist checkout",
		UsageText: `dist new myapp                              # myapp/: main.go, main_test.go, go.mod, go.sum
dist build myapp -o myapp/myapp && dist run --local 2 --app myapp/myapp --input 'books/*.txt' --output counts
dist new --dist-src ~/src/dist ~/apps/top   # when dist cannot find its checkout by itself`,
		Description: `The module github.com/distmr/dist is not published, so an app outside this
repository cannot "go get" package task. dist new writes a word count app
into DIR (a new or empty directory; the module is named after it) with a
go.mod that replaces github.com/distmr/dist with your checkout, and a go.sum
taken from it: the app builds without the network wherever dist was built.
The checkout is --dist-src, else the first one found in or above the
directory of the dist executable (build/bin after make build), else in or
above the working directory.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dist-src", EnvVars: []string{"DIST_SRC"}, Usage: "the top `DIR`ectory of your dist checkout (default: found from the dist executable or the working directory)"},
		},
		Action: newAction,
	}
}

func newAction(c *cli.Context) error {
	dirs, err := interspersed(c, map[string]bool{"dist-src": false}, nil)
	if err != nil {
		return usageErr(err)
	}
	if len(dirs) != 1 {
		return usageErr(fmt.Errorf("usage: dist new [--dist-src CHECKOUT] DIR (one directory, new or empty)"))
	}
	src := c.String("dist-src")
	if src == "" {
		if src, err = scaffold.FindSource(executableDir(), cwd()); err != nil {
			return cli.Exit("dist new: "+err.Error()+": pass --dist-src DIR, the top directory of your clone", exitJobFailed)
		}
	}
	res, err := scaffold.New(c.Context, scaffold.Options{Dir: dirs[0], Source: src})
	switch {
	case errors.Is(err, scaffold.ErrNotEmpty), errors.Is(err, scaffold.ErrBadName), errors.Is(err, scaffold.ErrNoSource):
		return usageErr(fmt.Errorf("dist new: %w", err))
	case err != nil:
		return cli.Exit("dist new: "+err.Error(), exitJobFailed)
	}
	fmt.Printf("created %s: %s (module %s, package task from %s)\n", dirs[0], strings.Join(res.Files, ", "), res.Module, res.Source)
	fmt.Printf("next:\n  cd %s\n  go test                  # runs the job in-process\n  dist build . -o %s\n  dist run --local 2 --app ./%s --input 'FILES' --output OUTDIR\n",
		dirs[0], res.Module, res.Module)
	return nil
}

// executableDir is the directory of the running dist, symlinks resolved;
// "" when unknown.
func executableDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return filepath.Dir(exe)
}

func cwd() string {
	d, _ := os.Getwd()
	return d
}
