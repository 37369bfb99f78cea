package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

var workers = map[string]registry.WorkerInfo{
	"w1": {ID: "w1", Addr: "127.0.0.1:7001", Slots: 2, Version: "0.1.0", OS: "linux", Arch: "amd64"},
	"w2": {ID: "w2", Addr: "127.0.0.1:7002", Slots: 2, Version: "0.1.0", OS: "linux", Arch: "amd64"},
}

func event(kind tracker.EventKind, ms int, p spec.Phase, i, n int, w string, backup bool, o tracker.Outcome) tracker.Event {
	return tracker.Event{Kind: kind, Time: at(ms), Outcome: o, Attempt: tracker.Attempt{
		Task: tracker.TaskRef{Phase: p, Index: i}, N: n, Worker: workers[w], Backup: backup}}
}

func result(in, out int64) tracker.Outcome {
	return tracker.Outcome{Result: &spec.Result{Status: spec.StatusOK, Counters: map[string]int64{
		spec.CounterInputRecords: in, spec.CounterOutputRecords: out,
		spec.CounterInputBytes: in * 10, spec.CounterOutputBytes: out * 10,
	}}}
}

// sample records a job with every kind of bar: three maps, one failing
// once and retried, a straggler whose backup wins, and two reduces, one
// still running when the job ended (failed) if unfinished is set.
func sample(unfinished bool) *Recorder {
	r := NewRecorder()
	m, red := spec.PhaseMap, spec.PhaseReduce
	for _, ev := range []tracker.Event{
		event(tracker.AttemptStarted, 0, m, 0, 0, "w1", false, tracker.Outcome{}),
		event(tracker.AttemptStarted, 0, m, 1, 0, "w1", false, tracker.Outcome{}),
		event(tracker.AttemptStarted, 0, m, 2, 0, "w2", false, tracker.Outcome{}),
		event(tracker.AttemptFailed, 150, m, 1, 0, "w1", false, tracker.Outcome{Err: errors.New("m-00001 attempt 0 exited with status 3: crashy: injected crash\nmore")}),
		event(tracker.AttemptStarted, 160, m, 1, 1, "w2", false, tracker.Outcome{}),
		event(tracker.AttemptSucceeded, 400, m, 0, 0, "w1", false, result(1000, 5000)),
		event(tracker.AttemptStarted, 410, m, 2, 1, "w1", true, tracker.Outcome{}),
		event(tracker.AttemptSucceeded, 600, m, 1, 1, "w2", false, result(900, 4000)),
		event(tracker.AttemptSucceeded, 700, m, 2, 1, "w1", true, result(800, 3000)),
		event(tracker.AttemptKilled, 720, m, 2, 0, "w2", false, tracker.Outcome{}),
		event(tracker.AttemptStarted, 730, red, 0, 0, "w1", false, tracker.Outcome{}),
		event(tracker.AttemptStarted, 730, red, 1, 0, "w2", false, tracker.Outcome{}),
		event(tracker.AttemptSucceeded, 900, red, 0, 0, "w1", false, result(6000, 700)),
	} {
		r.Event(ev)
	}
	if !unfinished {
		r.Event(event(tracker.AttemptSucceeded, 950, red, 1, 0, "w2", false, result(6000, 650)))
	}
	return r
}

func render(t *testing.T, r *Recorder, job Job) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteHTML(&b, job); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReportShowsEveryAttempt(t *testing.T) {
	html := render(t, sample(false), Job{ID: "j1", Start: t0, End: at(1000), Maps: 3, Reduces: 2, Output: "/tmp/out",
		Config: []Setting{{"app", "build/bin/crashy"}, {"reduces", "2"}}})
	bars := regexp.MustCompile(`<rect class="bar ([a-z ]+)"`).FindAllStringSubmatch(html, -1)
	var classes []string
	for _, b := range bars {
		classes = append(classes, b[1])
	}
	want := []string{"map ok", "map failed", "map ok retry", "map ok backup retry", "map killed", "reduce ok", "reduce ok"}
	for _, w := range want {
		found := false
		for _, c := range classes {
			found = found || c == w
		}
		if !found {
			t.Errorf("no bar of class %q among %q", w, classes)
		}
	}
	if len(bars) != 7 {
		t.Errorf("%d bars, want 7 (one per attempt)", len(bars))
	}
	for _, w := range []string{
		"m-00001 attempt 1 (retry): map on w2, slot",
		"m-00001 attempt 0: map on w1, slot 2",
		"crashy: injected crash",
		"records in 900, out 4,000",
		"bytes in 8.8 KiB, out 39.1 KiB",
		"stopped: another attempt finished first",
		"w1 · slot 1", "w1 · slot 2", "w2 · slot 1", "w2 · slot 2",
		"map.input.records", "2,700", // counters of the committed attempts
		"build/bin/crashy",
		`<span class="status succeeded">`,
	} {
		if !strings.Contains(html, w) {
			t.Errorf("report does not say %q", w)
		}
	}
	if strings.Contains(html, "http://") && !strings.Contains(html, `xmlns="http://www.w3.org/2000/svg"`) || strings.Contains(html, "https://") {
		t.Errorf("report refers to the network")
	}
	if strings.Contains(html, "more") {
		t.Errorf("an error's later lines made it into the report")
	}
}

func TestReportOfFailedJob(t *testing.T) {
	html := render(t, sample(true), Job{ID: "j2", Start: t0, End: at(1000), Maps: 3, Reduces: 2,
		Err: errors.New("r-00001 failed 4 of 4 attempts")})
	for _, w := range []string{`<span class="status failed">`, "r-00001 failed 4 of 4 attempts",
		`class="bar reduce unfinished"`, "still running when the job ended"} {
		if !strings.Contains(html, w) {
			t.Errorf("report does not say %q", w)
		}
	}
	// Counters come from the committed attempts: reduce 0 only.
	if !strings.Contains(html, "reduce.output.records") || !strings.Contains(html, ">700<") {
		t.Errorf("counters of the finished tasks missing")
	}
}

func TestLanes(t *testing.T) {
	as := []Attempt{
		{Start: at(0), End: at(100)},
		{Start: at(0), End: at(50)},
		{Start: at(50), End: at(80)},       // reuses lane 1
		{Start: at(60), End: at(200)},      // overlaps both: lane 2
		{Start: at(100), End: time.Time{}}, // unfinished, lane 0
	}
	got := assignLanes(as, at(300))
	want := []int{0, 1, 1, 2, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lanes %v, want %v", got, want)
		}
	}
}

func TestNiceStepAndDuration(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		0: time.Millisecond, 3 * time.Millisecond: 5 * time.Millisecond, 120 * time.Millisecond: 200 * time.Millisecond,
		4 * time.Second: 5 * time.Second, 7 * time.Minute: 10 * time.Minute,
	} {
		if got := niceStep(d); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0s", 850 * time.Millisecond: "850ms", 1250 * time.Millisecond: "1.25s",
		2 * time.Second: "2s", 125 * time.Second: "2m05s"} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
	if got := number(-1234567); got != "-1,234,567" {
		t.Errorf("number = %q", got)
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.html")
	if err := sample(false).WriteFile(path, Job{ID: "j"}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := sample(false).WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir.html"), Job{}); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// TestReportRendersInChromium loads the report in a real browser: its
// inline script counts the bars that got a layout box, and a screenshot
// is taken into the test's directory.
func TestReportRendersInChromium(t *testing.T) {
	b := testenv.Chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := sample(false).WriteFile(page, Job{ID: "j1", Start: t0, End: at(1000), Maps: 3, Reduces: 2}); err != nil {
		t.Fatal(err)
	}
	dom := b.DOM(t, page)
	m := regexp.MustCompile(`data-bars="(\d+)" data-bars-drawn="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page's script did not run (no data-bars-drawn):\n%.2000s", dom)
	}
	if n, _ := strconv.Atoi(m[2]); m[1] != "7" || n != 7 {
		t.Fatalf("%s of %s bars drawn, want 7 of 7", m[2], m[1])
	}
	b.Screenshot(t, page, filepath.Join(dir, "report.png"), 1400, 900)
	if dst := os.Getenv("DIST_REPORT_SHOT"); dst != "" { // to look at it: DIST_REPORT_SHOT=/tmp/shot.png
		if png, err := os.ReadFile(filepath.Join(dir, "report.png")); err == nil {
			_ = os.WriteFile(dst, png, 0o644)
		}
	}
}

func TestOutputLostWithWorker(t *testing.T) {
	r := NewRecorder()
	m := spec.PhaseMap
	r.Event(event(tracker.AttemptStarted, 0, m, 0, 0, "w2", false, tracker.Outcome{}))
	r.Event(event(tracker.AttemptSucceeded, 100, m, 0, 0, "w2", false, result(10, 10)))
	// w2 dies; the tracker runs the finished map again elsewhere.
	r.Event(event(tracker.AttemptStarted, 300, m, 0, 1, "w1", false, tracker.Outcome{}))
	r.Event(event(tracker.AttemptSucceeded, 400, m, 0, 1, "w1", false, result(10, 10)))
	html := render(t, r, Job{ID: "j", Start: t0, End: at(500), Maps: 1})
	for _, w := range []string{`class="bar map ok lostoutput" data-task="m-00000"`, `class="bar map ok retry" data-task="m-00000"`,
		"its output was lost (with its worker) and the task ran again"} {
		if !strings.Contains(html, w) {
			t.Errorf("report does not say %q", w)
		}
	}
	if !strings.Contains(html, "map.input.records</td><td class=\"num\">10<") {
		t.Errorf("a re-run map's counters were counted twice")
	}
}
