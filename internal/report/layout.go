package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/distmr/dist/internal/progress"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Geometry of the timeline, in SVG user units (pixels at 100%).
const (
	labelW   = 190 // the row labels on the left
	chartW   = 1000
	rightPad = 20
	axisH    = 30
	rowH     = 20
	barH     = 14
	bottomH  = 12
	charW    = 6.5 // rough width of one label character
)

// timeline is the laid-out SVG.
type timeline struct {
	Width, Height int
	ChartX        int // where time zero is
	ChartW        int
	AxisY         int
	TickY         int // baseline of the tick labels
	Ticks         []tick
	Groups        []group
	Bars          []bar
}

type tick struct {
	X     float64
	Label string
}

// group is one worker's band of rows.
type group struct {
	Worker    string
	Y, Height int
	Odd       bool
	Rows      []row
}

type row struct {
	Y     int // top of the row
	TextY int
	Label string
}

// bar is one attempt.
type bar struct {
	X, Y, W, H float64
	Class      string
	Task       string
	Title      string
	Label      string // drawn inside the bar when it fits
	LabelClass string
	TextX      float64
	TextY      float64
}

// layout places every attempt on a worker-slot row and on the time axis
// [start, end].
func layout(attempts []Attempt, workers map[string]registry.WorkerInfo, start, end time.Time) timeline {
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	x := func(t time.Time) float64 {
		return labelW + float64(t.Sub(start))/float64(span)*chartW
	}
	tl := timeline{ChartX: labelW, ChartW: chartW, AxisY: axisH, TickY: axisH - 10}
	tl.Ticks = ticks(span, x, start)

	// Group by worker, in order of first use.
	var order []string
	byWorker := map[string][]Attempt{}
	for _, a := range attempts {
		if _, ok := byWorker[a.Worker]; !ok {
			order = append(order, a.Worker)
		}
		byWorker[a.Worker] = append(byWorker[a.Worker], a)
	}
	y := axisH
	for gi, id := range order {
		as := byWorker[id]
		slices.SortStableFunc(as, func(a, b Attempt) int { return a.Start.Compare(b.Start) })
		lanes := assignLanes(as, end)
		nrows := max(workers[id].Slots, slices.Max(lanes)+1)
		g := group{Worker: id, Y: y, Height: nrows * rowH, Odd: gi%2 == 1}
		for i := 0; i < nrows; i++ {
			g.Rows = append(g.Rows, row{Y: y + i*rowH, TextY: y + i*rowH + rowH/2 + 4, Label: fmt.Sprintf("%s · slot %d", shorten(id, 20), i+1)})
		}
		for i, a := range as {
			tl.Bars = append(tl.Bars, makeBar(a, lanes[i], y, x, start, end))
		}
		tl.Groups = append(tl.Groups, g)
		y += nrows * rowH
	}
	tl.Width = labelW + chartW + rightPad
	tl.Height = y + bottomH
	return tl
}

// assignLanes gives each attempt (sorted by start) the first lane free at
// its start.
func assignLanes(as []Attempt, end time.Time) []int {
	var free []time.Time // when each lane's last attempt ended
	lanes := make([]int, len(as))
	for i, a := range as {
		lane := slices.IndexFunc(free, func(t time.Time) bool { return !t.After(a.Start) })
		if lane < 0 {
			lane = len(free)
			free = append(free, time.Time{})
		}
		free[lane] = endOf(a, end)
		lanes[i] = lane
	}
	if len(lanes) == 0 {
		return []int{0}
	}
	return lanes
}

func endOf(a Attempt, jobEnd time.Time) time.Time {
	if a.End.IsZero() {
		return jobEnd
	}
	return a.End
}

func makeBar(a Attempt, lane, groupY int, x func(time.Time) float64, start, end time.Time) bar {
	stop := endOf(a, end)
	b := bar{
		X: x(a.Start), Y: float64(groupY + lane*rowH + (rowH-barH)/2), H: barH,
		Task: a.Task.ID(),
	}
	b.W = math.Max(x(stop)-b.X, 2) // a very short attempt stays visible
	phase := "map"
	if a.Task.Phase == spec.PhaseReduce {
		phase = "reduce"
	}
	classes := []string{"bar", phase, a.Outcome}
	if a.Backup {
		classes = append(classes, "backup")
	}
	if a.N > 0 {
		classes = append(classes, "retry")
	}
	if a.OutputLost {
		classes = append(classes, "lostoutput")
	}
	b.Class = strings.Join(classes, " ")
	b.Label = a.Task.ID()
	if a.N > 0 {
		b.Label += fmt.Sprintf(" #%d", a.N)
	}
	if float64(len(b.Label))*charW+6 > b.W {
		b.Label = ""
	}
	b.LabelClass = "lbl"
	if a.Outcome == Killed || a.Outcome == Unfinished || a.OutputLost {
		b.LabelClass = "lbl dark"
	}
	b.TextX, b.TextY = b.X+3, b.Y+barH-3.5
	b.Title = title(a, lane, phase, start, stop)
	return b
}

// title is a bar's hover text.
func title(a Attempt, lane int, phase string, start, stop time.Time) string {
	var b strings.Builder
	kind := ""
	switch {
	case a.Backup:
		kind = " (backup)"
	case a.N > 0:
		kind = " (retry)"
	}
	fmt.Fprintf(&b, "%s attempt %d%s: %s on %s, slot %d\n", a.Task.ID(), a.N, kind, phase, a.Worker, lane+1)
	fmt.Fprintf(&b, "started at +%s, ran %s: %s", duration(a.Start.Sub(start)), duration(stop.Sub(a.Start)), outcomeText(a))
	if a.Counters != nil {
		c := a.Counters
		fmt.Fprintf(&b, "\nrecords in %s, out %s", number(c[spec.CounterInputRecords]), number(c[spec.CounterOutputRecords]))
		fmt.Fprintf(&b, "\nbytes in %s, out %s", progress.Bytes(c[spec.CounterInputBytes]), progress.Bytes(c[spec.CounterOutputBytes]))
	}
	if a.Err != "" {
		fmt.Fprintf(&b, "\n%s", shorten(a.Err, 300))
	}
	return b.String()
}

func outcomeText(a Attempt) string {
	switch a.Outcome {
	case OK:
		if a.OutputLost {
			return "succeeded, but its output was lost (with its worker) and the task ran again"
		}
		return "succeeded"
	case Killed:
		return "stopped: another attempt finished first"
	case Unfinished:
		return "still running when the job ended"
	case Failed:
		if a.Lost {
			return "failed: its worker was lost"
		}
		return "failed"
	}
	return a.Outcome
}

// ticks returns about eight time-axis ticks at a round step.
func ticks(span time.Duration, x func(time.Time) float64, start time.Time) []tick {
	step := niceStep(span / 8)
	var out []tick
	for t := time.Duration(0); t <= span; t += step {
		out = append(out, tick{X: x(start.Add(t)), Label: duration(t)})
	}
	return out
}

// niceSteps are the tick intervals the axis uses.
var niceSteps = []time.Duration{
	time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// niceStep rounds d up to a step of niceSteps (or whole days).
func niceStep(d time.Duration) time.Duration {
	for _, s := range niceSteps {
		if s >= d {
			return s
		}
	}
	return (d + 24*time.Hour - 1) / (24 * time.Hour) * (24 * time.Hour)
}

// duration formats a duration for people: "0s", "850ms", "1.25s", "2m05s".
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", d.Seconds()), "0"), ".") + "s"
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// number formats n with thousands separators: 1,234,567.
func number(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// shorten cuts s to n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}
