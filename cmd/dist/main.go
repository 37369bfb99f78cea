// Command dist ships compiled programs to worker daemons and runs them as
// MapReduce jobs. This file only wires commands together; see the client,
// worker, tracker and registry packages for what they do.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/worker"
)

// Exit codes.
const (
	exitOK        = 0
	exitJobFailed = 1
	exitUsage     = 2
)

// exitHelp ends every command's help.
const exitHelp = `Exit status: 0 when the command (the whole job, for run) succeeded, 1 when it
failed (a job failed, a worker could not start, ZooKeeper was unreachable),
2 for a usage error (a bad flag or argument). Every flag can also be set by
the environment variable shown beside it ([$DIST_...]).`

func main() {
	worker.SandboxMain() // when a worker started this process as its --run-as shim
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "dist:", err)
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok {
		return ec.ExitCode()
	}
	return exitUsage
}

func newApp() *cli.App {
	app := &cli.App{
		Name:      "dist",
		Usage:     "ship a compiled Go program to worker daemons and run it as a MapReduce job",
		UsageText: "dist COMMAND [flags]   (dist COMMAND --help for examples)",
		Commands: []*cli.Command{
			runCommand(),
			workerCommand(),
			workersCommand(),
			versionCommand(),
			buildCommand(),
			newCommand(),
			completionCommand(),
			taskHostCommand(),
		},
		Description:          exitHelp,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
	}
	for _, c := range app.Commands {
		if c.Description != "" {
			c.Description += "\n\n"
		}
		c.Description += exitHelp
	}
	return app
}
