package progress

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// busyJob feeds d a job in full swing: three workers used, two attempts
// running, three failed (retried) attempts, 465.9 KiB shuffled.
func busyJob(d *Display) {
	ok := tracker.Outcome{Result: &spec.Result{Counters: map[string]int64{spec.CounterInputBytes: 477119}}}
	failed := tracker.Outcome{Err: errors.New("exit status 3")}
	for i, w := range []string{"w1", "w2", "w3"} {
		d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, i, 0, w, tracker.Outcome{}))
		d.Event(ev(tracker.AttemptFailed, spec.PhaseMap, i, 0, w, failed))
	}
	d.Event(ev(tracker.AttemptStarted, spec.PhaseReduce, 0, 0, "w1", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptSucceeded, spec.PhaseReduce, 0, 0, "w1", ok))
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 1, "w2", tracker.Outcome{}))
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 1, 1, "w3", tracker.Outcome{}))
}

// lastStatus is the status line a terminal shows at the end of out: the
// text after the last carriage return, without the erase sequence.
func lastStatus(out string) string {
	parts := strings.Split(strings.TrimSuffix(out, "\n"), "\r")
	return strings.ReplaceAll(parts[len(parts)-1], "\x1b[K", "")
}

// liveStatus runs busyJob on a live display width columns wide whose
// clock stands still, and returns its final status line.
func liveStatus(width, maps, reduces int) string {
	var out syncBuffer
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := New(Options{Out: &out, Live: true, Job: "j", Maps: maps, Reduces: reduces,
		Width: func() int { return width }, Now: func() time.Time { return now }, Interval: time.Hour})
	busyJob(d)
	d.Close()
	return lastStatus(out.String())
}

// checkWholeWords fails unless every word of line is a whole word of the
// status at full width, or of the short forms of the bar and the counts.
func checkWholeWords(t *testing.T, line, full string) {
	t.Helper()
	words := map[string]bool{"m": true, "r": true}
	for _, w := range strings.Fields(full) {
		words[strings.TrimSuffix(w, ",")] = true
	}
	bar := regexp.MustCompile(`^\[[#-]{10}\]$`)
	for _, w := range strings.Fields(line) {
		if !words[strings.TrimSuffix(w, ",")] && !bar.MatchString(w) {
			t.Errorf("%q is cut mid-word: %q", w, line)
		}
	}
}

func TestStatusLineFitsWidth(t *testing.T) {
	for _, tc := range []struct {
		name          string
		maps, reduces int
		width         int
		want          string
	}{
		{"80 columns", 8, 3, 80, "   0.0s maps 0/8, reduces 1/3  shuffled 465.9 KiB  workers 3  retries 3"},
		{"40 columns", 8, 3, 40, "0.0s maps 0/8, reduces 1/3  retries 3"},
		{"40 columns, big job", 1000, 100, 40, "maps 0/1000, reduces 1/100  retries 3"},
		{"20 columns, big job", 1000, 100, 20, "m 0/1000 r 1/100"},
		{"wide", 8, 3, 200, "   0.0s [#-------------------] maps 0/8, reduces 1/3  shuffled 465.9 KiB  workers 3 (2 tasks running)  retries 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := liveStatus(tc.width, tc.maps, tc.reduces)
			if n := len([]rune(line)); n > tc.width-1 {
				t.Errorf("%d columns on a %d-column terminal: %q", n, tc.width, line)
			}
			checkWholeWords(t, line, liveStatus(1000, tc.maps, tc.reduces))
			if line != tc.want {
				t.Errorf("status line on %d columns:\n got %q\nwant %q", tc.width, line, tc.want)
			}
		})
	}
}

// TestStatusLineKeepsRetries narrows the terminal column by column: no
// word is ever cut, and the retries stay for as long as they fit beside
// the counts.
func TestStatusLineKeepsRetries(t *testing.T) {
	full := liveStatus(1000, 8, 3)
	for width := 120; width >= 20; width-- {
		line := liveStatus(width, 8, 3)
		checkWholeWords(t, line, full)
		if n := len([]rune(line)); n > width-1 {
			t.Fatalf("%d columns: line is %d wide: %q", width, n, line)
		}
		if fits := len("m 0/8 r 1/3  retries 3") <= width-1; fits && !strings.HasSuffix(line, "retries 3") {
			t.Errorf("%d columns: the retries are gone: %q", width, line)
		}
	}
}

// TestFinalLineCountsWorkers checks the last status line counts the
// workers the job used, as the summary does, not the ones with an attempt
// running at the end (none), on a terminal and off one.
func TestFinalLineCountsWorkers(t *testing.T) {
	var live, plain syncBuffer
	c := &clock{t: time.Unix(0, 0)}
	d := New(Options{Out: &live, Live: true, Job: "j1", Maps: 2, Reduces: 1, Width: func() int { return 80 }, Now: c.Now, Interval: time.Hour})
	script(d)
	d.Close()
	if last := lastStatus(live.String()); !strings.Contains(last, "workers 2  retries 1") {
		t.Errorf("final live status line = %q, want it to count 2 workers", last)
	}
	d = New(Options{Out: &plain, Job: "j1", Maps: 2, Reduces: 1, Now: c.Now, Interval: time.Hour})
	script(d)
	d.Close()
	lines := strings.Split(strings.TrimSuffix(plain.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "maps 2/2, reduces 1/1  shuffled 2.0 KiB  workers 2  retries 1") {
		t.Errorf("final plain status line = %q, want it to count 2 workers", last)
	}
}

func TestPlurals(t *testing.T) {
	for _, tc := range []struct {
		maps, reduces int
		want          string
	}{
		{1, 1, "job j: 1 map, 1 reduce"},
		{2, 0, "job j: 2 maps, 0 reduces"},
		{0, 3, "job j: 0 maps, 3 reduces"},
	} {
		var out syncBuffer
		d := New(Options{Out: &out, Job: "j", Maps: tc.maps, Reduces: tc.reduces, Interval: time.Hour})
		d.Close()
		if !strings.Contains(out.String(), tc.want+"\n") {
			t.Errorf("header for %d maps, %d reduces:\n%s\nwant %q", tc.maps, tc.reduces, out.String(), tc.want)
		}
	}
	// Running tasks, on a live line wide enough for everything.
	var out syncBuffer
	c := &clock{t: time.Unix(0, 0)}
	d := New(Options{Out: &out, Live: true, Job: "j", Maps: 2, Reduces: 1, Width: func() int { return 200 }, Now: c.Now, Interval: time.Hour})
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 0, 0, "w1", tracker.Outcome{}))
	one := lastStatus(out.String())
	d.Event(ev(tracker.AttemptStarted, spec.PhaseMap, 1, 0, "w1", tracker.Outcome{}))
	two := lastStatus(out.String())
	d.Close()
	if !strings.Contains(one, "workers 1 (1 task running)") || !strings.Contains(two, "workers 1 (2 tasks running)") {
		t.Errorf("running tasks: %q, then %q", one, two)
	}
}
