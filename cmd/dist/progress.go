package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/distmr/dist/client"
	"github.com/distmr/dist/internal/progress"
	"github.com/distmr/dist/internal/report"
	"github.com/distmr/dist/tracker"
)

// console is where dist run writes for people: stderr, or the live
// progress display once there is one (so log lines go above its status
// line instead of through it).
type console struct {
	mu  sync.Mutex
	out io.Writer
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *console) set(w io.Writer) {
	c.mu.Lock()
	c.out = w
	c.mu.Unlock()
}

// consoleLogger is dist run's logger, writing to con. Unless --quiet,
// the progress display prints every failed attempt, so the log leaves
// those out rather than say them twice.
func consoleLogger(c *cli.Context, con *console) (*slog.Logger, error) {
	log, err := newLoggerTo(c, con)
	if err != nil || c.Bool("quiet") {
		return log, err
	}
	return slog.New(progress.LogHandler(log.Handler())), nil
}

// watcher follows a run: it feeds the tracker's events to the progress
// display (unless --quiet) and to the recorder of the --report file and
// the --ui page (if asked for).
type watcher struct {
	con        *console
	display    *progress.Display // nil with --quiet
	rec        *report.Recorder  // nil without --report and --ui
	reportPath string
	start      time.Time

	mu       sync.Mutex // the page is drawn while the job runs
	job      *client.Job
	maps     int // the job's maps: packing small files may change them as it starts
	settings []report.Setting
	final    *report.Job // set when the job has ended
}

// newWatcher returns a watcher for one run that writes its report to
// reportPath ("" for none) and keeps what a live page needs if recording;
// its event method is the client's OnEvent. begin starts the display once
// the job is prepared.
func newWatcher(con *console, reportPath string, recording bool) *watcher {
	w := &watcher{con: con, reportPath: reportPath}
	if reportPath != "" || recording {
		w.rec = report.NewRecorder()
	}
	return w
}

// page draws the job's page as it stands: live while it runs, the report
// once it has ended.
func (w *watcher) page(out io.Writer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.final != nil:
		return w.rec.WriteHTML(out, *w.final)
	case w.job == nil:
		return w.rec.WriteHTML(out, report.Job{Live: true, Start: time.Now()})
	}
	return w.rec.WriteHTML(out, report.Job{ID: w.job.ID(), Start: w.start, Maps: w.maps, Reduces: w.job.Reduces(),
		Config: w.settings, Live: true})
}

// setMaps hears the job's number of maps when it changes
// (client.Config.OnMaps).
func (w *watcher) setMaps(n int) {
	w.mu.Lock()
	w.maps = n
	w.mu.Unlock()
	if w.display != nil {
		w.display.SetMaps(n)
	}
}

func (w *watcher) event(ev tracker.Event) {
	if w.display != nil {
		w.display.Event(ev)
	}
	if w.rec != nil {
		w.rec.Event(ev)
	}
}

// begin starts the progress display on stderr: a live status line on a
// terminal, plain timestamped lines elsewhere. quiet shows nothing.
func (w *watcher) begin(job *client.Job, settings []report.Setting, quiet bool) {
	w.mu.Lock()
	w.start, w.job, w.maps, w.settings = time.Now(), job, job.Maps(), settings
	w.mu.Unlock()
	if quiet {
		return
	}
	fd := int(os.Stderr.Fd())
	live := term.IsTerminal(fd) && os.Getenv("TERM") != "dumb"
	w.display = progress.New(progress.Options{
		Out: os.Stderr, Live: live, Job: job.ID(), Maps: job.Maps(), Reduces: job.Reduces(),
		Width: func() int {
			cols, _, err := term.GetSize(fd)
			if err != nil {
				return 0
			}
			return cols
		},
	})
	w.con.set(w.display.Writer())
}

// end stops the display and writes the report, if one was asked for,
// with the job's settings. sum is nil when the job failed with jobErr.
func (w *watcher) end(job *client.Job, output string, sum *client.Summary, jobErr error) error {
	if w.display != nil {
		w.display.Close()
		w.con.set(os.Stderr)
	}
	if w.rec == nil {
		return nil
	}
	rj := report.Job{
		ID: job.ID(), Start: w.start, End: time.Now(), Maps: job.Maps(), Reduces: job.Reduces(),
		Err: jobErr, Output: output, Config: w.settings,
	}
	if sum != nil {
		rj.Counters = sum.Counters
		rj.ClientData = &report.ClientData{In: sum.ClientDataIn, Out: sum.ClientDataOut}
	}
	w.mu.Lock()
	w.final = &rj
	w.mu.Unlock()
	if w.reportPath == "" {
		return nil
	}
	return w.rec.WriteFile(w.reportPath, rj)
}

// finish ends the run's display and report (see end) and says where the
// report is, or why it could not be written.
func (w *watcher) finish(c *cli.Context, job *client.Job, sum *client.Summary, jobErr error) {
	err := w.end(job, c.String("output"), sum, jobErr)
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "dist: %v\n", err)
	case w.reportPath != "" && !c.Bool("quiet"):
		fmt.Fprintf(os.Stderr, "report written to %s\n", w.reportPath)
	}
}
