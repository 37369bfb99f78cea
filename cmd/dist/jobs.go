package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/distmr/dist/internal/progress"
	"github.com/distmr/dist/registry"
)

// dist jobs and dist status read the job records a detached job's master
// keeps in ZooKeeper (registry.JobRecord): no worker is asked.

// recentJobs is how long ago a job may have ended for dist jobs to list
// it without --all.
const recentJobs = 24 * time.Hour

func zkFlag() cli.Flag {
	return &cli.StringFlag{Name: "zk", EnvVars: []string{"DIST_ZK"}, Usage: "ZooKeeper `HOSTS[/chroot]` the cluster registers in (required)"}
}

func jobsCommand() *cli.Command {
	return &cli.Command{
		Name:  "jobs",
		Usage: "list the detached jobs recorded in ZooKeeper",
		UsageText: `dist jobs --zk 127.0.0.1:2181
dist jobs --zk zk1:2181/dist --all --json | jq '.[] | select(.state == "failed") | .id'`,
		Description: `One row per job, newest first: id, user, app, state (submitted, running,
succeeded, failed, killed), progress, when it started, how long it ran or has
run, and the worker whose master runs it ("-" while none does: not started
yet, ended, or being taken over). Without --all, jobs that ended more than
24 hours ago are left out. --json prints the records as a JSON array.`,
		Flags: []cli.Flag{
			zkFlag(),
			&cli.BoolFlag{Name: "json", EnvVars: []string{"DIST_JOBS_JSON"}, Usage: "print a JSON array instead of a table"},
			&cli.BoolFlag{Name: "all", EnvVars: []string{"DIST_JOBS_ALL"}, Usage: "also list jobs that ended more than 24 hours ago"},
		},
		Before: noArgs("name no job: dist status JOB shows one"),
		Action: jobsAction,
	}
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show one detached job's state and progress",
		ArgsUsage: "JOB",
		UsageText: `dist status --zk 127.0.0.1:2181 j20260102-093000-5f3a9c1e
dist status --zk zk1:2181/dist --json j20260102-093000-5f3a9c1e | jq .progress`,
		Description: `The job's status line, as dist run draws it, its master's address and live
page, and once it has ended its summary (succeeded) or why it failed. Exit
status 0 whatever state the job is in; dist wait waits for it to end and
exits as the job did. --json prints the job's record as a JSON object.`,
		Flags: []cli.Flag{
			zkFlag(),
			&cli.BoolFlag{Name: "json", EnvVars: []string{"DIST_STATUS_JSON"}, Usage: "print the record as a JSON object"},
		},
		Before: oneJobArg,
		Action: statusAction,
	}
}

// oneJobArg checks the command got exactly one argument, the job id.
func oneJobArg(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErr(fmt.Errorf("dist %s takes one job id, got %d arguments: dist jobs lists them", c.Command.Name, c.NArg()))
	}
	return nil
}

// openRegistry connects to the ZooKeeper --zk names.
func openRegistry(c *cli.Context) (*registry.ZK, error) {
	if c.String("zk") == "" {
		return nil, usageErr(fmt.Errorf("--zk is required: the ZooKeeper HOSTS[/chroot] where the cluster registers (or set DIST_ZK)"))
	}
	ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
	defer cancel()
	zk, err := registry.NewZK(ctx, c.String("zk"), registry.ZKOptions{})
	if err != nil {
		return nil, cli.Exit(err.Error(), exitJobFailed)
	}
	return zk, nil
}

// readJob reads the record of job id. A job that does not exist is a
// usage error: the id is wrong.
func readJob(ctx context.Context, c *cli.Context, zk *registry.ZK, id string) (registry.JobRecord, error) {
	rec, err := zk.Job(ctx, id)
	if errors.Is(err, registry.ErrNoJob) {
		return rec, noJob(c, id)
	}
	if err != nil {
		return rec, cli.Exit(err.Error(), exitJobFailed)
	}
	return rec, nil
}

func noJob(c *cli.Context, id string) error {
	return usageErr(fmt.Errorf("no job %q in ZooKeeper at %s: dist jobs --all lists the jobs there (records expire after a while)", id, c.String("zk")))
}

func jobsAction(c *cli.Context) error {
	zk, err := openRegistry(c)
	if err != nil {
		return err
	}
	defer zk.Close()
	ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
	defer cancel()
	jobs, err := zk.Jobs(ctx)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	now := time.Now()
	if !c.Bool("all") {
		jobs = slices.DeleteFunc(jobs, func(j registry.JobRecord) bool {
			return j.State.Ended() && now.Sub(j.Ended) > recentJobs
		})
	}
	slices.Reverse(jobs) // newest first
	if c.Bool("json") {
		out := make([]jobJSON, 0, len(jobs))
		for _, j := range jobs {
			out = append(out, toJobJSON(j, now))
		}
		return printJSON(out)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tAPP\tSTATE\tPROGRESS\tSTARTED\tDURATION\tMASTER")
	for _, j := range jobs {
		p := j.Progress
		started, took := "-", "-"
		if !j.Started.IsZero() {
			started = when(j.Started, now)
			took = uptime(runTime(j, now))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tmaps %d/%d reduces %d/%d\t%s\t%s\t%s\n", j.ID, orDash(j.User), orDash(j.App),
			j.State, p.MapsDone, p.Maps, p.ReducesDone, p.Reduces, started, took, orDash(j.MasterID))
	}
	return tw.Flush()
}

// when formats a start time: the time of day today, else the date too.
func when(t, now time.Time) string {
	t = t.Local()
	if t.Format(time.DateOnly) == now.Local().Format(time.DateOnly) {
		return t.Format(time.TimeOnly)
	}
	return t.Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runTime is how long the job ran (ended) or has run (running); 0 before
// it started.
func runTime(j registry.JobRecord, now time.Time) time.Duration {
	switch {
	case j.Started.IsZero():
		return 0
	case !j.Ended.IsZero():
		return j.Ended.Sub(j.Started)
	}
	return now.Sub(j.Started)
}

// jobStatus is the job's progress as the status line dist run draws.
func jobStatus(j registry.JobRecord, now time.Time) progress.Status {
	p := j.Progress
	return progress.Status{
		Elapsed: runTime(j, now), Maps: p.Maps, MapsDone: p.MapsDone, Reduces: p.Reduces, ReducesDone: p.ReducesDone,
		Shuffled: p.BytesShuffled, Workers: p.Workers, Running: p.Running, Retries: p.Failed,
	}
}

// statusLine is "job ID STATE: <the status line>", fitted to width
// columns (0: no limit).
func statusLine(j registry.JobRecord, now time.Time, width int) string {
	head := fmt.Sprintf("job %s %s: ", j.ID, j.State)
	if width <= 0 {
		width = 1 << 16
	}
	line := jobStatus(j, now).Line(max(width-len(head), 20))
	return head + strings.TrimLeft(line, " ") // the elapsed time is padded for a line of its own
}

func statusAction(c *cli.Context) error {
	zk, err := openRegistry(c)
	if err != nil {
		return err
	}
	defer zk.Close()
	ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
	defer cancel()
	rec, err := readJob(ctx, c, zk, c.Args().First())
	if err != nil {
		return err
	}
	now := time.Now()
	if c.Bool("json") {
		return printJSON(toJobJSON(rec, now))
	}
	width := 0
	if fd := int(os.Stdout.Fd()); term.IsTerminal(fd) {
		if cols, _, err := term.GetSize(fd); err == nil {
			width = cols - 1
		}
	}
	fmt.Println(statusLine(rec, now, width))
	printJobDetails(rec)
	return nil
}

// printJobDetails prints what dist status shows below the status line:
// who runs the job, and once it ended how it went.
func printJobDetails(rec registry.JobRecord) {
	if rec.Master != "" {
		fmt.Printf("master: worker %s at %s\n", rec.MasterID, rec.Master)
	} else if !rec.State.Ended() {
		fmt.Println("master: none right now (not started yet, or being taken over)")
	}
	if rec.UI != "" && !rec.State.Ended() {
		fmt.Printf("live page: %s\n", rec.UI)
	}
	if rec.Takeovers > 0 {
		fmt.Printf("taken over %s\n", progress.Count(rec.Takeovers, "time"))
	}
	switch {
	case rec.State == registry.JobSucceeded:
		for _, l := range rec.Summary {
			fmt.Println(l)
		}
	case rec.State.Ended():
		fmt.Printf("job %s: %s\n", rec.State, rec.Error)
	}
}

// jobJSON is a job record in dist jobs --json and dist status --json:
// stable snake_case names; times absent (null) until they happen.
type jobJSON struct {
	ID            string           `json:"id"`
	User          string           `json:"user"`
	App           string           `json:"app"`
	Inputs        []string         `json:"inputs"`
	Output        string           `json:"output"`
	State         string           `json:"state"`
	Master        string           `json:"master"`
	MasterID      string           `json:"master_id"`
	UI            string           `json:"ui"`
	Submitted     *time.Time       `json:"submitted"`
	Started       *time.Time       `json:"started"`
	Ended         *time.Time       `json:"ended"`
	DurationSec   float64          `json:"duration_seconds"`
	Progress      progressJSON     `json:"progress"`
	Summary       []string         `json:"summary"`
	Counters      map[string]int64 `json:"counters"`
	Error         string           `json:"error"`
	Takeovers     int              `json:"takeovers"`
	KillRequested bool             `json:"kill_requested"`
}

type progressJSON struct {
	Maps          int   `json:"maps"`
	MapsDone      int   `json:"maps_done"`
	Reduces       int   `json:"reduces"`
	ReducesDone   int   `json:"reduces_done"`
	Running       int   `json:"running"`
	Failed        int   `json:"failed"`
	Workers       int   `json:"workers"`
	BytesShuffled int64 `json:"bytes_shuffled"`
}

func toJobJSON(j registry.JobRecord, now time.Time) jobJSON {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	p := j.Progress
	out := jobJSON{
		ID: j.ID, User: j.User, App: j.App, Inputs: j.Inputs, Output: j.Output, State: string(j.State),
		Master: j.Master, MasterID: j.MasterID, UI: j.UI,
		Submitted: at(j.Submitted), Started: at(j.Started), Ended: at(j.Ended),
		DurationSec: runTime(j, now).Seconds(),
		Progress: progressJSON{Maps: p.Maps, MapsDone: p.MapsDone, Reduces: p.Reduces, ReducesDone: p.ReducesDone,
			Running: p.Running, Failed: p.Failed, Workers: p.Workers, BytesShuffled: p.BytesShuffled},
		Summary: j.Summary, Counters: j.Counters, Error: j.Error, Takeovers: j.Takeovers, KillRequested: j.KillRequested,
	}
	if out.Inputs == nil {
		out.Inputs = []string{}
	}
	if out.Summary == nil {
		out.Summary = []string{}
	}
	if out.Counters == nil {
		out.Counters = map[string]int64{}
	}
	return out
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
