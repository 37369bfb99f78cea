package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print the stderr of a job's task attempts, gathered from the workers",
		ArgsUsage: "JOB [TASK]",
		UsageText: `dist logs --zk 127.0.0.1:2181 j20260102-093000-5f3a9c1e
dist logs --zk zk1:2181/dist --secret-file secret j20260102-093000-5f3a9c1e m-00003
dist logs --zk zk1:2181/dist --secret-file secret j20260102-093000-5f3a9c1e master`,
		Description: `Asks every registered worker for what it keeps of the job's attempts'
stderr (a worker keeps them while the job runs, and after it ends for its
--keep-failed time: failed attempts' logs whole, succeeded ones' last 64 KiB)
and prints each under a line "== m-00003 attempt 1 on worker W ==". TASK
limits it to one task; "master" is the job master's own log. Exit status 1
when no worker has any.`,
		Flags: append([]cli.Flag{
			zkFlag(),
			secretFlag(),
		}, tlsFlags()...),
		Before: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageErr(fmt.Errorf("dist logs takes a job id and optionally a task id (m-00003, r-00000 or master), got %d arguments", c.NArg()))
			}
			return nil
		},
		Action: logsAction,
	}
}

// workerLog is one attempt's log and the worker it came from.
type workerLog struct {
	proto.AttemptLog
	worker string
}

func logsAction(c *cli.Context) error {
	opts, err := callerOptions(c)
	if err != nil {
		return err
	}
	zk, err := openRegistry(c)
	if err != nil {
		return err
	}
	defer zk.Close()
	ctx, cancel := context.WithTimeout(c.Context, time.Minute)
	defer cancel()
	ws, err := zk.Workers(ctx)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	job, taskID := c.Args().Get(0), c.Args().Get(1)
	logs, errs := gatherLogs(ctx, ws, job, taskID, opts)
	slices.SortFunc(logs, func(a, b workerLog) int {
		return cmp.Or(cmp.Compare(a.Task, b.Task), cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.worker, b.worker))
	})
	for _, l := range logs {
		printLog(l)
	}
	if len(logs) == 0 {
		what := "job " + job
		if taskID != "" {
			what = taskID + " of job " + job
		}
		msg := fmt.Sprintf("none of the %d workers keeps logs of %s (a worker keeps them for its --keep-failed time after the job ends)", len(ws), what)
		if _, err := askedErr("logs", "what they keep", ws, errs); err != nil {
			msg += "; " + err.Error()
		}
		return cli.Exit(msg, exitJobFailed)
	}
	if _, err := askedErr("logs", "what they keep", ws, errs); err != nil {
		fmt.Fprintln(os.Stderr, "warning: "+err.Error())
	}
	return nil
}

// gatherLogs asks each worker for the job's logs; errs[i] says why
// worker i could not answer.
func gatherLogs(ctx context.Context, ws []registry.WorkerInfo, job, taskID string, o proto.Options) ([]workerLog, []error) {
	var (
		mu   sync.Mutex
		logs []workerLog
		wg   sync.WaitGroup
	)
	errs := make([]error, len(ws))
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := askLogs(ctx, w.Addr, job, taskID, o)
			errs[i] = err
			mu.Lock()
			defer mu.Unlock()
			for _, l := range got {
				logs = append(logs, workerLog{AttemptLog: l, worker: w.ID})
			}
		}()
	}
	wg.Wait()
	return logs, errs
}

// askLogs asks the worker at addr for the job's logs.
func askLogs(ctx context.Context, addr, job, taskID string, o proto.Options) ([]proto.AttemptLog, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := proto.Dial(ctx, addr, o)
	if err != nil {
		return nil, fmt.Errorf("worker at %s: %w", addr, err)
	}
	defer s.Close()
	logs, err := s.TaskLogs(ctx, job, taskID)
	if err != nil {
		return nil, fmt.Errorf("worker at %s: %w", addr, err)
	}
	return logs, nil
}

// printLog prints one attempt's log under its header line.
func printLog(l workerLog) {
	if l.Task == "master" {
		fmt.Printf("== master on worker %s ==\n", l.worker)
	} else {
		fmt.Printf("== %s attempt %d on worker %s ==\n", l.Task, l.Attempt, l.worker)
	}
	if l.Truncated {
		fmt.Printf("[... only the last %d KiB are kept ...]\n", proto.MaxTaskLog>>10)
	}
	b := l.Stderr
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\n")) {
		b = append(b, '\n')
	}
	os.Stdout.Write(b)
}
