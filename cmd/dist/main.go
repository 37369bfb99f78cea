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

func main() {
	worker.SandboxMain() // when a worker started this process as its --run-as shim
	app := &cli.App{
		Name:  "dist",
		Usage: "ship a compiled Go program to worker daemons and run it as a MapReduce job",
		Commands: []*cli.Command{
			runCommand(),
			workerCommand(),
			workersCommand(),
			versionCommand(),
			buildCommand(),
			taskHostCommand(),
		},
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
	}
	if err := app.Run(os.Args); err != nil {
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
