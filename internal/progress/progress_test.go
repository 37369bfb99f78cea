package progress

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// syncBuffer is a bytes.Buffer safe for the display's ticker goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a fake time source that advances 100ms per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(100 * time.Millisecond)
	return c.t
}

func ev(kind tracker.EventKind, p spec.Phase, i, n int, worker string, o tracker.Outcome) tracker.Event {
	return tracker.Event{Kind: kind, Outcome: o, Attempt: tracker.Attempt{
		Task: tracker.TaskRef{Phase: p, Index: i}, N: n, Worker: registry.WorkerInfo{ID: worker, Slots: 2},
	}}
}

// script is a small job: two maps (one fails once), one reduce that
// fetched 2048 bytes.
func script(d *Display) {
	ok := tracker.Outcome{Result: &spec.Result{Counters: map[string]int64{spec.CounterInputBytes: 2048}}}
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 0, "w1", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 1, 0, "w2", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptFailed, spec.PhaseMap, 1, 0, "w2", tracker.Outcome{Err: errors.New("exit status 3\x1b[31m\nsecond line")}))
	d.Event(ev(tracker.AttemptSucceeded, spec.PhaseMap, 0, 0, "w1", ok))
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 1, 1, "w1", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptSucceeded, spec.PhaseMap, 1, 1, "w1", ok))
	d.Event(ev(tracker.AttemptStarted, spec.PhaseReduce, 0, 0, "w2", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptSucceeded, spec.PhaseReduce, 0, 0, "w2", ok))
}

func TestPlainLines(t *testing.T) {
	var out syncBuffer
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	d := New(Options{Out: &out, Job: "j1", Maps: 2, Reduces: 1, Now: c.Now, Interval: time.Hour})
	script(d)
	d.Writer().Write([]byte("level=WARN msg=\"a log line\"\n"))
	d.Close()
	d.Close()
	got := out.String()
	if strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) {
		t.Fatalf("plain output holds control characters:\n%q", got)
	}
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	stamp := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} +\d+\.\d\ds  `)
	for _, l := range lines {
		if !stamp.MatchString(l) && !strings.HasPrefix(l, "level=") {
			t.Errorf("line without a timestamp: %q", l)
		}
	}
	for _, want := range []string{
		"job j1: 2 maps, 1 reduce",
		"m-00001 attempt 0 failed on w2: exit status 3?[31m",
		"m-00000 done on w1  (maps 1/2, reduces 0/1)",
		"r-00000 done on w2  (maps 2/2, reduces 1/1)",
		"maps 2/2, reduces 1/1  shuffled 2.0 KiB  workers 2  retries 1",
		"level=WARN msg=\"a log line\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output does not say %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "second line") {
		t.Errorf("an error's later lines were printed:\n%s", got)
	}
}

func TestLiveLine(t *testing.T) {
	var out syncBuffer
	c := &clock{t: time.Unix(0, 0)}
	d := New(Options{Out: &out, Live: true, Job: "j1", Maps: 2, Reduces: 1, Now: c.Now, Width: func() int { return 200 }, Interval: time.Hour})
	script(d)
	d.Writer().Write([]byte("a log line\n"))
	d.Close()
	got := out.String()
	if !strings.Contains(got, "\r") || !strings.Contains(got, "\x1b[K") {
		t.Fatalf("live output does not redraw in place:\n%q", got)
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("the final status line is not ended:\n%q", got)
	}
	// What a terminal shows at the end: the text after the last erase on
	// each line.
	var screen []string
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		parts := strings.Split(l, "\r")
		screen = append(screen, strings.ReplaceAll(parts[len(parts)-1], "\x1b[K", ""))
	}
	want := []string{"job j1: 2 maps, 1 reduce", "m-00001 attempt 0 failed on w2: exit status 3?[31m", "a log line"}
	for i, w := range want {
		if i >= len(screen) || screen[i] != w {
			t.Fatalf("screen line %d = %q, want %q\nscreen: %q", i, screen[i], w, screen)
		}
	}
	last := screen[len(screen)-1]
	if !strings.Contains(last, "[####################] maps 2/2, reduces 1/1  shuffled 2.0 KiB") || !strings.Contains(last, "retries 1") {
		t.Errorf("final status line = %q", last)
	}
	if strings.Contains(got, "done on") {
		t.Errorf("live mode printed a line per finished task:\n%q", got)
	}
}

func TestLiveLineFitsWidth(t *testing.T) {
	var out syncBuffer
	d := New(Options{Out: &out, Live: true, Job: "j", Maps: 1000, Reduces: 100, Width: func() int { return 40 }, Interval: time.Hour})
	d.Close()
	for _, l := range strings.Split(out.String(), "\r") {
		l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\x1b[K")
		if n := len([]rune(l)); n > 39 {
			t.Errorf("line of %d columns on a 40-column terminal: %q", n, l)
		}
	}
}

func TestRerunMapCountsAgain(t *testing.T) {
	var out syncBuffer
	d := New(Options{Out: &out, Maps: 1, Reduces: 1, Interval: time.Hour})
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 0, "w1", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptSucceeded, spec.PhaseMap, 0, 0, "w1", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 1, "w2", tracker.Outcome{})) // w1 was lost
	d.mu.Lock()
	counts := d.statusLocked().counts()
	d.mu.Unlock()
	if counts != "maps 0/1, reduces 0/1" {
		t.Errorf("after a map re-run started: %s", counts)
	}
	d.Close()
	if !strings.Contains(out.String(), "m-00000 runs again: the output of its finished attempt was lost (attempt 1 on w2)") {
		t.Errorf("the re-run was not announced:\n%s", out.String())
	}
}

func TestPlainStatusAfterQuiet(t *testing.T) {
	var out syncBuffer
	d := New(Options{Out: &out, Maps: 1, Reduces: 0, Interval: 20 * time.Millisecond})
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no status line after a quiet spell:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.Close()
	if !strings.Contains(out.String(), "maps 0/1, reduces 0/0") {
		t.Errorf("status line missing:\n%s", out.String())
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestStatusFromARecord checks a Status built from counts alone (a job
// record's, for dist status and dist wait) reads as the live line would.
func TestStatusFromARecord(t *testing.T) {
	s := Status{Elapsed: 4200 * time.Millisecond, Maps: 8, MapsDone: 4, Reduces: 2, ReducesDone: 1,
		Shuffled: 477119, Workers: 3, Running: 2, Retries: 1}
	if got, want := s.Line(200), "   4.2s [##########----------] maps 4/8, reduces 1/2  shuffled 465.9 KiB  workers 3 (2 tasks running)  retries 1"; got != want {
		t.Errorf("line:\n got %q\nwant %q", got, want)
	}
	if got, want := s.Line(39), "4.2s maps 4/8, reduces 1/2  retries 1"; got != want {
		t.Errorf("line on 40 columns:\n got %q\nwant %q", got, want)
	}
	if got, want := s.String(), "maps 4/8, reduces 1/2  shuffled 465.9 KiB  workers 3 (2 tasks running)  retries 1"; got != want {
		t.Errorf("plain:\n got %q\nwant %q", got, want)
	}
}

// A Tally counts as a Display does, re-runs of lost outputs included, and
// takes recovered tasks as done.
func TestTally(t *testing.T) {
	tl := NewTally()
	ok := tracker.Outcome{Result: &spec.Result{Counters: map[string]int64{spec.CounterInputBytes: 2048}}}
	tl.Done([]tracker.TaskRef{{Phase: spec.PhaseMap, Index: 1}})
	tl.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 0, "w1", tracker.Outcome{}))
	tl.Event(ev(tracker.AttemptSucceeded, spec.PhaseMap, 0, 0, "w1", ok))
	tl.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 1, "w2", tracker.Outcome{})) // its output was lost
	tl.Event(ev(tracker.AttemptStarted, spec.PhaseReduce, 0, 0, "w1", tracker.Outcome{}))
	tl.Event(ev(tracker.AttemptFailed, spec.PhaseReduce, 0, 0, "w1", tracker.Outcome{Err: errors.New("boom")}))
	tl.Event(ev(tracker.AttemptStarted, spec.PhaseReduce, 0, 1, "w1", tracker.Outcome{}))
	tl.Event(ev(tracker.AttemptSucceeded, spec.PhaseReduce, 0, 1, "w1", ok))
	got := tl.Status()
	want := Status{MapsDone: 1, ReducesDone: 1, Shuffled: 2048, Workers: 2, Running: 1, Retries: 1}
	if got != want {
		t.Errorf("status %+v, want %+v", got, want)
	}
}
