package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/streaming"
	"github.com/distmr/dist/internal/taskhost"
)

// taskHostCommand is the hidden mode in which a worker runs a plugin or
// the commands of an exec job as one task (see worker/host.go). It reads
// no environment variables but DIST_TASK_DIR.
func taskHostCommand() *cli.Command {
	cmd := func(role string) []cli.Flag {
		return []cli.Flag{
			&cli.StringFlag{Name: role, Usage: "the " + role + " command `PATH`"},
			&cli.StringFlag{Name: role + "-name", Usage: "its `NAME` in messages"},
		}
	}
	flags := []cli.Flag{
		&cli.StringFlag{Name: "plugin", Usage: "run the task with the App of the Go plugin at `PATH`"},
		&cli.StringFlag{Name: "name", Usage: "the plugin's `NAME` in messages"},
		&cli.BoolFlag{Name: "exec", Usage: "run the task through the --mapper, --reducer and --combiner commands"},
	}
	for _, role := range []string{"mapper", "reducer", "combiner"} {
		flags = append(flags, cmd(role)...)
	}
	return &cli.Command{
		Name:      "task-host",
		Hidden:    true,
		Usage:     "run one task of a plugin or exec job in $DIST_TASK_DIR (dist worker starts this)",
		UsageText: "dist task-host --plugin PATH | --exec --mapper PATH --reducer PATH [--combiner PATH]",
		Flags:     flags,
		Before:    noArgs(""),
		Action: func(c *cli.Context) error {
			switch {
			case c.String("plugin") != "":
				taskhost.Plugin(c.String("plugin"), c.String("name"))
			case c.Bool("exec"):
				command := func(role string) streaming.Command {
					return streaming.Command{Path: c.String(role), Name: c.String(role + "-name")}
				}
				taskhost.Exec(streaming.Commands{Mapper: command("mapper"), Reducer: command("reducer"), Combiner: command("combiner")})
			default:
				return usageErr(fmt.Errorf("task-host needs --plugin PATH or --exec: dist worker starts it for plugin and exec jobs"))
			}
			return nil
		},
	}
}
