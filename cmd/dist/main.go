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

// exitCode is err's exit status: 1 for a failure dist reports as such,
// 2 for everything else. urfave/cli's own errors (3 for `dist help bogus`)
// are usage errors too, as the help promises.
func exitCode(err error) int {
	if ec, ok := err.(cli.ExitCoder); ok && ec.ExitCode() == exitJobFailed {
		return exitJobFailed
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
			jobsCommand(),
			statusCommand(),
			waitCommand(),
			killCommand(),
			logsCommand(),
			versionCommand(),
			buildCommand(),
			newCommand(),
			completionCommand(),
			taskHostCommand(),
		},
		Description:          exitHelp,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {},
		Action:               rootAction,
		OnUsageError:         onUsageError,
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError
		if c.Description != "" {
			c.Description += "\n\n"
		}
		c.Description += exitHelp
	}
	return app
}
