package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

// dist wait and dist kill follow a detached job's record until it ends.

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "wait for a detached job to end, showing its progress, and exit as it did",
		ArgsUsage: "JOB",
		UsageText: `dist wait --zk 127.0.0.1:2181 j20260102-093000-5f3a9c1e
dist wait --zk zk1:2181/dist j20260102-093000-5f3a9c1e && echo done`,
		Description: `Follows the job's record in ZooKeeper: on a terminal its status line is
redrawn in place, elsewhere one line is written per change (at most one a
second). When the job ends, prints its summary as dist run does and exits 0
if it succeeded, 1 ("job failed: ...") if it failed or was killed. Ctrl-C
stops waiting; the job goes on.`,
		Flags:  []cli.Flag{zkFlag()},
		Before: oneJobArg,
		Action: waitAction,
	}
}

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "kill a detached job",
		ArgsUsage: "JOB",
		UsageText: `dist kill --zk 127.0.0.1:2181 j20260102-093000-5f3a9c1e
dist kill --zk zk1:2181/dist --secret-file secret j20260102-093000-5f3a9c1e`,
		Description: `Asks the worker whose master runs the job to kill it, then waits until the
job has ended: its attempts are killed and nothing of its output is
committed. A job that has already ended cannot be killed (exit status 1).`,
		Flags: append([]cli.Flag{
			zkFlag(),
			secretFlag(),
		}, tlsFlags()...),
		Before: oneJobArg,
		Action: killAction,
	}
}

func waitAction(c *cli.Context) error {
	zk, err := openRegistry(c)
	if err != nil {
		return err
	}
	defer zk.Close()
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	id := c.Args().First()
	if _, err := readJob(ctx, c, zk, id); err != nil {
		return err
	}
	fd := int(os.Stderr.Fd())
	f := &follower{out: os.Stderr, live: term.IsTerminal(fd) && os.Getenv("TERM") != "dumb", width: func() int {
		cols, _, err := term.GetSize(fd)
		if err != nil {
			return 0
		}
		return cols
	}}
	rec, err := f.follow(ctx, zk, id)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	return jobExit(rec)
}

// jobExit ends dist wait as dist run would have ended: the summary on
// stdout, or "job failed".
func jobExit(rec registry.JobRecord) error {
	if rec.State != registry.JobSucceeded {
		why := rec.Error
		if why == "" {
			why = string(rec.State)
		}
		return cli.Exit("job failed: "+why, exitJobFailed)
	}
	for _, l := range rec.Summary {
		fmt.Println(l)
	}
	return nil
}

// follower shows a job's record as it changes: a status line redrawn in
// place on a terminal (live), else one line per change, at most one a
// second.
type follower struct {
	out   io.Writer
	live  bool
	width func() int // the terminal's columns; 0 unknown

	drawn   bool      // a live line is on screen
	printed time.Time // when the last plain line was written
	master  string    // the last master seen, to tell a takeover
}

// follow shows the record of job id until it ends, and returns it. It
// fails if the record is deleted or ctx ends first.
func (f *follower) follow(ctx context.Context, zk *registry.ZK, id string) (registry.JobRecord, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the watch
	ch, err := zk.WatchJob(ctx, id)
	if err != nil {
		return registry.JobRecord{}, err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last registry.JobRecord
	shown := true // last has been shown
	for {
		select {
		case rec, ok := <-ch:
			if !ok {
				f.end()
				if ctx.Err() != nil {
					return last, fmt.Errorf("stopped waiting for job %s (it goes on): %w", id, context.Cause(ctx))
				}
				return last, fmt.Errorf("job %s's record was deleted from ZooKeeper before the job ended", id)
			}
			f.takeover(rec)
			last, shown = rec, false
			if rec.State.Ended() {
				f.show(rec)
				f.end()
				return rec, nil
			}
			if f.live || time.Since(f.printed) >= time.Second {
				f.show(rec)
				shown = true
			}
		case <-tick.C:
			if last.ID != "" && (f.live || !shown) { // live: the elapsed time moves on
				f.show(last)
				shown = true
			}
		}
	}
}

// takeover says so when another worker's master runs the job now.
func (f *follower) takeover(rec registry.JobRecord) {
	if rec.MasterID == "" {
		return
	}
	if f.master != "" && rec.MasterID != f.master {
		f.line(fmt.Sprintf("job %s: worker %s at %s took over as its master from worker %s", rec.ID, rec.MasterID, rec.Master, f.master))
	}
	f.master = rec.MasterID
}

// show draws rec's status line.
func (f *follower) show(rec registry.JobRecord) {
	now := time.Now()
	if !f.live {
		f.line(statusLine(rec, now, 0))
		return
	}
	width := 80
	if w := f.width(); w >= 20 {
		width = w
	}
	fmt.Fprint(f.out, "\r"+statusLine(rec, now, width-1)+"\x1b[K")
	f.drawn = true
}

// line writes one permanent line: above the live status line, or
// timestamped.
func (f *follower) line(s string) {
	if f.live {
		f.end()
		fmt.Fprintln(f.out, s)
		return
	}
	f.printed = time.Now()
	fmt.Fprintf(f.out, "%s %s\n", f.printed.Format("15:04:05"), s)
}

// end leaves the live status line on screen as a line of its own.
func (f *follower) end() {
	if f.drawn {
		fmt.Fprintln(f.out)
		f.drawn = false
	}
}

func killAction(c *cli.Context) error {
	opts, err := callerOptions(c)
	if err != nil {
		return err
	}
	zk, err := openRegistry(c)
	if err != nil {
		return err
	}
	defer zk.Close()
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	id := c.Args().First()
	rec, err := readJob(ctx, c, zk, id)
	if err != nil {
		return err
	}
	switch {
	case rec.State.Ended():
		return cli.Exit(fmt.Sprintf("job %s has already ended (%s): there is nothing to kill", id, rec.State), exitJobFailed)
	case rec.Master == "":
		return noMaster(id)
	}
	if err := askKill(ctx, rec, opts); err != nil {
		return err
	}
	f := &follower{out: io.Discard}
	if rec, err = f.follow(ctx, zk, id); err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	if rec.State != registry.JobKilled {
		return cli.Exit(fmt.Sprintf("job %s ended %s before the kill reached it", id, rec.State), exitJobFailed)
	}
	fmt.Printf("job %s killed\n", id)
	return nil
}

func noMaster(id string) error {
	return cli.Exit(fmt.Sprintf("job %s has no master right now (another worker is taking it over): retry dist kill in a few seconds", id), exitJobFailed)
}

// askKill sends KillJob to the worker whose master runs the job.
func askKill(ctx context.Context, rec registry.JobRecord, o proto.Options) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := proto.Dial(ctx, rec.Master, o)
	if err == nil {
		defer s.Close()
		err = s.Call(ctx, proto.OpKillJob, rec.ID, &proto.KillJobRequest{Job: rec.ID}, &proto.Reply{})
	}
	var pe *proto.Error
	switch {
	case err == nil:
		return nil
	case proto.IsAuth(err):
		return cli.Exit(fmt.Sprintf("worker %s at %s refused dist kill: %v; give dist kill the cluster's secret with --secret-file or DIST_SECRET_FILE",
			rec.MasterID, rec.Master, err), exitJobFailed)
	case proto.IsCode(err, proto.CodeNotFound), !errors.As(err, &pe):
		// Its master moved on, or its worker is gone: a takeover.
		return cli.Exit(fmt.Sprintf("job %s's master at %s could not take the kill (%v): another worker may be taking it over: retry dist kill in a few seconds",
			rec.ID, rec.Master, err), exitJobFailed)
	}
	return cli.Exit(fmt.Sprintf("worker %s at %s: %v", rec.MasterID, rec.Master, err), exitJobFailed)
}
