package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distmr/dist/internal/progress"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Job is what the caller knows about the job beyond its attempts.
type Job struct {
	// ID is the job id.
	ID string
	// Start and End bound the timeline; a zero End means now.
	Start, End time.Time
	// Maps and Reduces are the job's task counts.
	Maps, Reduces int
	// Err is why the job failed; nil means it succeeded.
	Err error
	// Output is the output directory.
	Output string
	// Counters are the job's counters ("map.input.records", ...); nil
	// means they are summed from the attempts that succeeded last for
	// each task (what a failed job has).
	Counters map[string]int64
	// Config lists the settings the job ran with, in display order.
	Config []Setting
	// ClientData is the input and output bytes that went through the
	// client; nil when unknown (a failed job).
	ClientData *ClientData
	// Live says the job is still running: the page says so, and a
	// browser showing it reloads it every second (dist run --ui).
	Live bool
}

// ClientData counts the job's data bytes the client carried.
type ClientData struct{ In, Out int64 }

// Setting is one configuration entry.
type Setting struct{ Name, Value string }

//go:embed report.html.tmpl
var pageText string

// page is parsed on first use, not at start: every dist command links
// this package, and only --report renders it.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"f": func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) },
	}).Parse(pageText))
})

// view is what the template renders.
type view struct {
	Job      Job
	Failed   bool
	ErrText  string
	Started  string
	Wall     string
	Stats    []Setting
	Timeline timeline
	Counters []Setting
	Workers  []workerRow
	Failures []failureRow
	Attempts int
}

type workerRow struct {
	ID, Addr, Slots, Version, Platform, Attempts, Failed, Busy string
}

type failureRow struct {
	Task, Attempt, Worker, At, Outcome, Err string
}

// WriteHTML writes the report of job to w.
func (r *Recorder) WriteHTML(w io.Writer, job Job) error {
	attempts, workers := r.snapshot()
	if job.End.IsZero() {
		job.End = time.Now()
	}
	if job.Start.IsZero() || len(attempts) > 0 && attempts[0].Start.Before(job.Start) {
		if len(attempts) > 0 {
			job.Start = attempts[0].Start
		} else {
			job.Start = job.End
		}
	}
	v := view{
		Job: job, Failed: job.Err != nil,
		Started:  job.Start.Format("2006-01-02 15:04:05 MST"),
		Wall:     duration(job.End.Sub(job.Start)),
		Timeline: layout(attempts, workers, job.Start, job.End),
		Attempts: len(attempts),
	}
	if job.Err != nil {
		v.ErrText = job.Err.Error()
	}
	counters := job.Counters
	if counters == nil {
		counters = committedCounters(attempts)
	}
	for _, k := range sortedKeys(counters) {
		v.Counters = append(v.Counters, Setting{k, number(counters[k])})
	}
	v.Stats = stats(job, attempts, counters)
	v.Workers = workerRows(attempts, workers, job.End)
	for _, a := range attempts {
		if a.Outcome == OK && !a.OutputLost {
			continue
		}
		v.Failures = append(v.Failures, failureRow{
			Task: a.Task.ID(), Attempt: fmt.Sprint(a.N), Worker: a.Worker,
			At: "+" + duration(a.Start.Sub(job.Start)), Outcome: outcomeText(a), Err: a.Err,
		})
	}
	return page().Execute(w, v)
}

// WriteFile writes the report to path, atomically: a reader never sees a
// half-written file.
func (r *Recorder) WriteFile(path string, job Job) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := r.WriteHTML(f, job); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// committedCounters sums, per task, the counters of its last successful
// attempt, prefixed with the phase ("map.input.records").
func committedCounters(attempts []Attempt) map[string]int64 {
	last := map[string]Attempt{}
	for _, a := range attempts {
		if a.Outcome == OK {
			last[a.Task.ID()] = a
		}
	}
	out := map[string]int64{}
	for _, a := range last {
		for k, n := range a.Counters {
			out[string(a.Task.Phase)+"."+k] += n
		}
	}
	return out
}

func stats(job Job, attempts []Attempt, counters map[string]int64) []Setting {
	var failed, killed, backups, retries int
	workers := map[string]bool{}
	for _, a := range attempts {
		workers[a.Worker] = true
		switch a.Outcome {
		case Failed:
			failed++
		case Killed:
			killed++
		}
		if a.Backup {
			backups++
		} else if a.N > 0 {
			retries++
		}
	}
	status := "succeeded"
	switch {
	case job.Live:
		status = "running"
	case job.Err != nil:
		status = "failed"
	}
	rows := []Setting{
		{"status", status},
		{"wall time", duration(job.End.Sub(job.Start))},
		{"tasks", fmt.Sprintf("%d maps, %d reduces", job.Maps, job.Reduces)},
		{"attempts", fmt.Sprintf("%d (%d failed, %d retries, %d backups, %d stopped)", len(attempts), failed, retries, backups, killed)},
		{"workers used", fmt.Sprint(len(workers))},
		{"records", fmt.Sprintf("%s in, %s out", number(counters["map."+spec.CounterInputRecords]), number(outRecords(job, counters)))},
		{"bytes shuffled", progress.Bytes(counters["reduce."+spec.CounterInputBytes])},
		{"output", job.Output},
	}
	if d := job.ClientData; d != nil {
		rows = append(rows, Setting{"client data bytes", fmt.Sprintf("in %s, out %s", progress.Bytes(d.In), progress.Bytes(d.Out))})
	}
	return rows
}

func outRecords(job Job, c map[string]int64) int64 {
	if job.Reduces == 0 {
		return c["map."+spec.CounterOutputRecords]
	}
	return c["reduce."+spec.CounterOutputRecords]
}

func workerRows(attempts []Attempt, workers map[string]registry.WorkerInfo, end time.Time) []workerRow {
	type acc struct {
		n, failed int
		busy      time.Duration
	}
	accs := map[string]*acc{}
	for _, a := range attempts {
		c := accs[a.Worker]
		if c == nil {
			c = &acc{}
			accs[a.Worker] = c
		}
		c.n++
		if a.Outcome == Failed {
			c.failed++
		}
		c.busy += endOf(a, end).Sub(a.Start)
	}
	ids := sortedKeys(accs)
	rows := make([]workerRow, 0, len(ids))
	for _, id := range ids {
		w, c := workers[id], accs[id]
		rows = append(rows, workerRow{
			ID: id, Addr: w.Addr, Slots: fmt.Sprint(w.Slots), Version: strings.TrimSpace(w.Version + " " + w.GoVersion),
			Platform: w.OS + "/" + w.Arch, Attempts: fmt.Sprint(c.n), Failed: fmt.Sprint(c.failed), Busy: duration(c.busy),
		})
	}
	return rows
}
