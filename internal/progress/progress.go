// Package progress shows a running job's progress to the person who
// started it. On a terminal it keeps one status line redrawn in place (maps
// and reduces done, bytes shuffled, workers in use, retries, elapsed time)
// and prints notable events (a failed attempt, a backup attempt) above it.
// Anywhere else it writes plain timestamped lines with no control
// characters, fit for a log file or a CI console.
//
// A Display is fed tracker events (Event, safe from any goroutine and
// never blocking on anything but its own lock) and, through Writer, the
// log lines of the same process, so that the two never tear each other's
// lines apart.
package progress

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// Options configures a Display. Zero values are documented per field.
type Options struct {
	// Out receives the display, usually os.Stderr. Required.
	Out io.Writer
	// Live redraws one status line in place with a carriage return, for a
	// terminal. false writes plain timestamped lines instead.
	Live bool
	// Width returns the terminal width in columns (Live only); nil or a
	// result below 20 means 80. The status line is fitted to it, fields
	// shortened or dropped whole (fit.go), since a line that wraps cannot
	// be redrawn in place.
	Width func() int
	// Job, Maps and Reduces describe the job; Maps and Reduces are the
	// totals shown as "maps 3/8".
	Job           string
	Maps, Reduces int
	// Interval is how often the live line is redrawn so that the elapsed
	// time advances (0 means 250ms), and in plain mode the longest quiet
	// spell before a status line is written anyway (0 means 10s).
	Interval time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Display shows one job's progress. Create it with New; Close it when the
// job has ended.
type Display struct {
	o     Options
	start time.Time

	mu       sync.Mutex
	st       state
	drawn    bool      // a live status line is on screen
	lastDraw time.Time // when it was drawn
	lastOut  time.Time // when the last plain line was written
	closed   bool

	quit chan struct{}
	wg   sync.WaitGroup
}

// state is what the status line shows.
type state struct {
	done     map[tracker.TaskRef]bool
	running  map[string]int  // worker id → running attempts
	used     map[string]bool // workers that ran an attempt, as the summary counts them
	shuffled int64           // bytes the committed reduces fetched
	failed   int             // failed attempts: each one is a retry (or the end)
	backups  int
	killed   int
}

// New starts a display: it writes the job's first line and, in live mode,
// starts redrawing the status line.
func New(o Options) *Display {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
		if o.Live {
			o.Interval = 250 * time.Millisecond
		}
	}
	d := &Display{
		o:     o,
		start: o.Now(),
		st:    newState(),
		quit:  make(chan struct{}),
	}
	d.mu.Lock()
	d.jobLineLocked() // again when SetMaps changes the count
	d.mu.Unlock()
	d.wg.Add(1)
	go d.tick()
	return d
}

// tick redraws the live line (or writes a plain status line after a quiet
// spell) until Close.
func (d *Display) tick() {
	defer d.wg.Done()
	t := time.NewTicker(d.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-t.C:
			d.mu.Lock()
			switch {
			case d.o.Live:
				d.drawLocked()
			case d.o.Now().Sub(d.lastOut) >= d.o.Interval:
				d.lineLocked(d.statusLocked().String())
			}
			d.mu.Unlock()
		}
	}
}

// SetMaps changes the number of map tasks shown: a job with worker:
// inputs knows it only once it has listed them on the workers.
func (d *Display) SetMaps(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n != d.o.Maps {
		d.o.Maps = n
		d.jobLineLocked()
	}
}

// jobLineLocked says what the job is: its id, maps and reduces.
func (d *Display) jobLineLocked() {
	d.lineLocked(fmt.Sprintf("job %s: %s, %s", d.o.Job, Count(d.o.Maps, "map"), Count(d.o.Reduces, "reduce")))
}

// Event records one tracker event; use it as (part of) the tracker's
// OnEvent. Safe from any goroutine.
func (d *Display) Event(ev tracker.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	a := ev.Attempt
	rerun := d.st.apply(ev)
	switch ev.Kind {
	case tracker.AttemptStarted:
		if rerun {
			d.lineLocked(fmt.Sprintf("%s runs again: the output of its finished attempt was lost (attempt %d on %s)", a.Task.ID(), a.N, a.Worker.ID))
			return
		}
		if a.Backup {
			d.lineLocked(fmt.Sprintf("%s is slow: backup attempt %d on %s", a.Task.ID(), a.N, a.Worker.ID))
			return
		}
	case tracker.AttemptSucceeded:
		if !d.o.Live {
			d.lineLocked(fmt.Sprintf("%s done on %s  (%s)", a.Task.ID(), a.Worker.ID, d.statusLocked().counts()))
			return
		}
	case tracker.AttemptFailed:
		d.lineLocked(fmt.Sprintf("%s attempt %d failed on %s: %s", a.Task.ID(), a.N, a.Worker.ID, firstLine(ev.Outcome.Err)))
		return
	case tracker.AttemptKilled:
		why := "another attempt finished first"
		if errors.Is(ev.Outcome.Err, tracker.ErrPreempted) {
			why = "its slot went to a map that was waiting"
		}
		d.lineLocked(fmt.Sprintf("%s attempt %d on %s stopped: %s", a.Task.ID(), a.N, a.Worker.ID, why))
		return
	}
	if d.o.Live && d.o.Now().Sub(d.lastDraw) >= minRedraw {
		d.drawLocked()
	}
}

func newState() state {
	return state{done: map[tracker.TaskRef]bool{}, running: map[string]int{}, used: map[string]bool{}}
}

// apply counts ev; rerun says a finished task started again because its
// output was lost.
func (st *state) apply(ev tracker.Event) (rerun bool) {
	a := ev.Attempt
	switch ev.Kind {
	case tracker.AttemptStarted:
		st.running[a.Worker.ID]++
		st.used[a.Worker.ID] = true
		if st.done[a.Task] && !a.Backup { // a finished map whose output was lost runs again
			delete(st.done, a.Task)
			return true
		}
		if a.Backup {
			st.backups++
		}
	case tracker.AttemptSucceeded:
		st.ended(a)
		st.done[a.Task] = true
		if a.Task.Phase == spec.PhaseReduce && ev.Outcome.Result != nil {
			st.shuffled += ev.Outcome.Result.Counters[spec.CounterInputBytes]
		}
	case tracker.AttemptFailed:
		st.ended(a)
		st.failed++
	case tracker.AttemptRefused: // never ran: the worker was busy or draining
		st.ended(a)
	case tracker.AttemptKilled:
		st.ended(a)
		st.killed++
	}
	return false
}

// minRedraw spaces out redraws for events: a big job's events come faster
// than anyone reads, and the ticker draws what was skipped.
const minRedraw = 50 * time.Millisecond

func (st *state) ended(a tracker.Attempt) {
	if st.running[a.Worker.ID]--; st.running[a.Worker.ID] <= 0 {
		delete(st.running, a.Worker.ID)
	}
}

// Writer returns a writer for the process's log lines: each write goes
// above the live status line (which is redrawn after a complete line).
func (d *Display) Writer() io.Writer { return logWriter{d} }

type logWriter struct{ d *Display }

func (w logWriter) Write(p []byte) (int, error) {
	d := w.d
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	n, err := d.o.Out.Write(p)
	if !d.o.Live {
		d.lastOut = d.o.Now()
	} else if !d.closed && len(p) > 0 && p[len(p)-1] == '\n' {
		d.drawLocked()
	}
	return n, err
}

// Close stops redrawing and leaves the final status on its own line. It
// is idempotent.
func (d *Display) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	close(d.quit)
	d.mu.Unlock()
	d.wg.Wait()

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.o.Live {
		d.drawLocked()
		if d.drawn {
			_, _ = io.WriteString(d.o.Out, "\n")
			d.drawn = false
		}
		return
	}
	d.lineLocked(d.statusLocked().String())
}

// lineLocked writes one permanent line: above the live status line, or
// as a plain timestamped line.
func (d *Display) lineLocked(msg string) {
	msg = clean(msg)
	if d.o.Live {
		d.clearLocked()
		_, _ = io.WriteString(d.o.Out, msg+"\n")
		if !d.closed {
			d.drawLocked()
		}
		return
	}
	now := d.o.Now()
	d.lastOut = now
	fmt.Fprintf(d.o.Out, "%s %7.2fs  %s\n", now.Format("15:04:05.000"), now.Sub(d.start).Seconds(), msg)
}

// clearLocked erases the live status line, if one is drawn.
func (d *Display) clearLocked() {
	if d.drawn {
		_, _ = io.WriteString(d.o.Out, "\r\x1b[K")
		d.drawn = false
	}
}

// drawLocked (re)draws the live status line.
func (d *Display) drawLocked() {
	width := 80
	if d.o.Width != nil {
		if w := d.o.Width(); w >= 20 {
			width = w
		}
	}
	// One column stays free: a line that fills the last column makes some
	// terminals wrap before the cursor returns.
	line := d.statusLocked().Line(width - 1)
	_, _ = io.WriteString(d.o.Out, "\r"+line+"\x1b[K")
	d.drawn, d.lastDraw = true, d.o.Now()
}

// statusLocked is the display's state as a Status.
func (d *Display) statusLocked() Status {
	s := d.st.status()
	s.Elapsed, s.Maps, s.Reduces = d.o.Now().Sub(d.start), d.o.Maps, d.o.Reduces
	return s
}

// status is the counts of st as a Status, without the job's totals.
func (st *state) status() Status {
	s := Status{Shuffled: st.shuffled, Workers: len(st.used), Retries: st.failed, Backups: st.backups}
	for t := range st.done {
		if t.Phase == spec.PhaseMap {
			s.MapsDone++
		} else {
			s.ReducesDone++
		}
	}
	for _, n := range st.running {
		s.Running += n
	}
	return s
}

// Tally counts a job's progress from the tracker's events as a Display
// does, for a job master to keep in the job's record without drawing it.
// Safe for concurrent use.
type Tally struct {
	mu sync.Mutex
	st state
}

// NewTally returns an empty Tally.
func NewTally() *Tally { return &Tally{st: newState()} }

// Event counts ev.
func (t *Tally) Event(ev tracker.Event) {
	t.mu.Lock()
	t.st.apply(ev)
	t.mu.Unlock()
}

// Done counts tasks as finished: those a job master recovered from the
// journal of an earlier one.
func (t *Tally) Done(tasks []tracker.TaskRef) {
	t.mu.Lock()
	for _, k := range tasks {
		t.st.done[k] = true
	}
	t.mu.Unlock()
}

// Status is what t counted; Elapsed and the totals are the caller's.
func (t *Tally) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.status()
}

// Status is what a status line shows: a Display's own state, or a job's
// progress as its record keeps it (dist status, dist wait), so that both
// read the same.
type Status struct {
	Elapsed              time.Duration
	Maps, MapsDone       int
	Reduces, ReducesDone int
	Shuffled             int64 // bytes the committed reduces fetched
	Workers              int   // workers that have run an attempt
	Running              int   // attempts running now
	Retries              int   // failed attempts
	Backups              int
}

// Line is the live status line fitted to width columns: fields are
// shortened and dropped whole, least useful first (fit.go).
func (s Status) Line(width int) string { return fit(s.fields(), width) }

// String is the whole status without the elapsed time and the bar:
// counts, bytes, workers, retries.
func (s Status) String() string {
	str := fmt.Sprintf("%s  shuffled %s  %s  retries %d", s.counts(), Bytes(s.Shuffled), s.workers(), s.Retries)
	if s.Backups > 0 {
		str += fmt.Sprintf("  backups %d", s.Backups)
	}
	return str
}

// bar draws the share of tasks done, n cells wide.
func (s Status) bar(n int) string {
	total := s.Maps + s.Reduces
	filled := 0
	if total > 0 {
		filled = (s.MapsDone + s.ReducesDone) * n / total
	}
	filled = min(filled, n)
	return "[" + strings.Repeat("#", filled) + strings.Repeat("-", n-filled) + "]"
}

// counts is "maps 3/8, reduces 0/2".
func (s Status) counts() string {
	return fmt.Sprintf("maps %d/%d, reduces %d/%d", s.MapsDone, s.Maps, s.ReducesDone, s.Reduces)
}

// workers is "workers 3 (4 tasks running)": the workers that have run an
// attempt, as the job's summary counts them, and the attempts running now
// (when any are).
func (s Status) workers() string {
	str := fmt.Sprintf("workers %d", s.Workers)
	if s.Running > 0 {
		str += fmt.Sprintf(" (%s running)", Count(s.Running, "task"))
	}
	return str
}

// Count is n and the noun, plural unless n is 1: "1 map", "3 reduces".
// nouns are the regular ones dist shows (map, reduce, task, worker).
func Count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Bytes formats a byte count for people: "0 B", "512 B", "1.5 KiB", "466.0 MiB".
func Bytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, unit = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, unit)
}

// firstLine is the first line of err's text.
func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// clean replaces control characters (which could move the cursor or
// recolour the terminal when a task's stderr ends up in a message) with
// spaces and '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r) || r == unicode.ReplacementChar:
			return '?'
		}
		return r
	}, s)
}
