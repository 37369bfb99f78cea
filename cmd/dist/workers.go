package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

func workersCommand() *cli.Command {
	return &cli.Command{
		Name:  "workers",
		Usage: "list the workers registered in ZooKeeper",
		UsageText: `dist workers --zk 127.0.0.1:2181
dist workers --zk zk1:2181,zk2:2181/dist --secret-file secret --json | jq '.[] | select(.running == 0) | .id'`,
		Description: `One row per registered worker: id, address, slots, running tasks (asked of
the worker itself; "?" when it cannot be reached), dist and Go versions,
os/arch, uptime and flags (draining: stopping, takes no new tasks; INSECURE:
no secret and no TLS; no-plugins: built without cgo). --json prints the same as a JSON array ("running" is null when
the worker could not be reached).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "zk", EnvVars: []string{"DIST_ZK"}, Usage: "ZooKeeper `HOSTS[/chroot]` (required)"},
			&cli.BoolFlag{Name: "json", EnvVars: []string{"DIST_WORKERS_JSON"}, Usage: "print a JSON array instead of a table"},
			secretFlag(),
		}, tlsFlags()...),
		Before: noArgs(""),
		Action: workersAction,
	}
}

func workersAction(c *cli.Context) error {
	if c.String("zk") == "" {
		return usageErr(fmt.Errorf("--zk is required: the ZooKeeper HOSTS[/chroot] where the workers register (or set DIST_ZK)"))
	}
	opts, err := callerOptions(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
	defer cancel()
	zk, err := registry.NewZK(ctx, c.String("zk"), registry.ZKOptions{})
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	defer zk.Close()
	ws, err := zk.Workers(ctx)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	running, errs := runningTasks(ctx, ws, opts)
	var insecure []string
	for _, w := range ws {
		if slices.Contains(w.Flags, "insecure") {
			insecure = append(insecure, w.ID)
		}
	}
	if c.Bool("json") {
		err = printWorkersJSON(ws, running)
	} else {
		err = printWorkersTable(ws, running)
	}
	if err != nil {
		return err
	}
	if len(insecure) > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d worker(s) run without a secret or TLS: anyone who reaches them can run programs there: %s\n",
			len(insecure), strings.Join(insecure, ", "))
	}
	return unasked(ws, errs)
}

// unasked explains the "?" in the RUNNING column on stderr: how many
// workers could not be asked and why (the first reason, with the fix for
// a refused secret). It is an error (exit status 1) when no worker could
// be asked at all, since then the listing says nothing about the cluster's
// state but what ZooKeeper holds.
func unasked(ws []registry.WorkerInfo, errs []error) error {
	n, err := askedErr("workers", "what they run (RUNNING is ?)", ws, errs)
	switch {
	case n == 0:
		return nil
	case n == len(ws):
		return cli.Exit(err.Error(), exitJobFailed)
	}
	fmt.Fprintln(os.Stderr, "warning: "+err.Error())
	return nil
}

// askedErr says how many workers could not be asked what and the first
// reason (an authentication failure first, with the fix for dist cmd);
// n is 0 when all answered.
func askedErr(cmd, what string, ws []registry.WorkerInfo, errs []error) (n int, err error) {
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		n++
		if first == nil || proto.IsAuth(err) && !proto.IsAuth(first) {
			first = err
		}
	}
	if n == 0 {
		return 0, nil
	}
	msg := fmt.Sprintf("could not ask %d of %d workers %s: %v", n, len(ws), what, first)
	if proto.IsAuth(first) {
		msg += fmt.Sprintf("; give dist %s the cluster's secret with --secret-file or DIST_SECRET_FILE", cmd)
	}
	return n, errors.New(msg)
}

func printWorkersTable(ws []registry.WorkerInfo, running []string) error {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSLOTS\tRUNNING\tVERSION\tGO\tOS/ARCH\tUPTIME\tFLAGS")
	for i, w := range ws {
		fl := w.Flags
		if w.Draining {
			fl = append([]string{"draining"}, fl...)
		}
		flags := strings.Replace(strings.Join(fl, ","), "insecure", "INSECURE", 1)
		if flags == "" {
			flags = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s/%s\t%s\t%s\n", w.ID, w.Addr, w.Slots, running[i],
			w.Version, w.GoVersion, w.OS, w.Arch, uptime(time.Since(w.Started)), flags)
	}
	return tw.Flush()
}

// uptime formats a duration the way uptime(1) does, roughly: "42s",
// "5m07s", "3h12m", "2d04h".
func uptime(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// runningTasks asks each worker how many tasks it runs: "?" where it
// cannot be asked, with the reason in errs.
func runningTasks(ctx context.Context, ws []registry.WorkerInfo, o proto.Options) (running []string, errs []error) {
	running, errs = make([]string, len(ws)), make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := askRunning(ctx, w.Addr, o)
			running[i], errs[i] = fmt.Sprint(n), err
			if err != nil {
				running[i] = "?"
			}
		}()
	}
	wg.Wait()
	return running, errs
}

// askRunning asks the worker at addr how many tasks it runs.
func askRunning(ctx context.Context, addr string, o proto.Options) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := proto.Dial(ctx, addr, o)
	if err != nil && !strings.Contains(err.Error(), addr) {
		return 0, fmt.Errorf("worker at %s: %w", addr, err)
	}
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var r proto.InfoReply
	if err := s.Call(ctx, proto.OpInfo, "", &proto.InfoRequest{}, &r); err != nil {
		return 0, fmt.Errorf("worker at %s: %w", addr, err)
	}
	return r.Running, nil
}

// workerJSON is one element of `dist workers --json`.
type workerJSON struct {
	ID        string    `json:"id"`
	Addr      string    `json:"addr"`
	Slots     int       `json:"slots"`
	Running   *int      `json:"running"` // null: the worker could not be asked
	Version   string    `json:"version"`
	GoVersion string    `json:"go_version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	Started   time.Time `json:"started"`
	UptimeSec int64     `json:"uptime_seconds"`
	Flags     []string  `json:"flags"`
}

func printWorkersJSON(ws []registry.WorkerInfo, running []string) error {
	out := make([]workerJSON, 0, len(ws))
	for i, w := range ws {
		j := workerJSON{ID: w.ID, Addr: w.Addr, Slots: w.Slots, Version: w.Version, GoVersion: w.GoVersion,
			OS: w.OS, Arch: w.Arch, Started: w.Started, UptimeSec: int64(time.Since(w.Started).Seconds()), Flags: w.Flags}
		if n, err := strconv.Atoi(running[i]); err == nil {
			j.Running = &n
		}
		if j.Flags == nil {
			j.Flags = []string{}
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
