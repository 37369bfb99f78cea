package main

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// getMetrics GETs http://addr/metrics and returns its samples
// ("name{labels}" → value).
func getMetrics(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// noControl fails if s holds control characters other than newlines.
func noControl(t *testing.T, what, s string) {
	t.Helper()
	if i := strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }); i >= 0 {
		t.Errorf("%s holds a control character at %d: %q", what, i, s[max(0, i-40):min(len(s), i+40)])
	}
}

// TestReportAndMetrics runs a job in which one map fails once, on two
// workers serving Prometheus metrics, with --report: the plain progress
// lines, the report (the failed attempt and its retry, drawn in a real
// browser) and the workers' counters must all agree.
func TestReportAndMetrics(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	d := env.Dist(t)
	w1 := testenv.StartWorker(t, d, "--slots", "2", "--metrics-addr", "127.0.0.1:0")
	w2 := testenv.StartWorker(t, d, "--slots", "2", "--metrics-addr", "127.0.0.1:0")
	if w1.Metrics == "" || w2.Metrics == "" {
		t.Fatal("the ready line does not give the metrics address")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	out := filepath.Join(dir, "out")
	r := mustRun(t, "run", "--workers", w1.Addr+","+w2.Addr, "--app", env.App(t, "crashy"),
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "2",
		"--param", "exit=1", "--param", "only=^m-00001/0$", "--report", page,
		// Exactly 11 attempts: no backups, no early reduce giving its slot back.
		"--speculative=false", "--early-reduces=false")
	assertCommitted(t, out, 2)

	t.Run("progress lines", func(t *testing.T) {
		noControl(t, "stderr", r.stderr)
		stamp := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{3} +\d+\.\d\ds  `)
		for _, want := range []string{"m-00001 attempt 0 failed on", "r-00001 done on", "maps 8/8, reduces 2/2", "retries 1"} {
			if !regexp.MustCompile(stamp.String() + `.*` + regexp.QuoteMeta(want)).MatchString(r.stderr) {
				t.Errorf("no timestamped line saying %q:\n%s", want, r.stderr)
			}
		}
		if !strings.Contains(r.stderr, "report written to "+page) {
			t.Errorf("stderr does not say where the report is:\n%s", r.stderr)
		}
	})

	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	t.Run("report", func(t *testing.T) {
		bars := strings.Count(html, `<rect class="bar `)
		if bars != 11 { // 8 maps, 1 retry, 2 reduces
			t.Errorf("%d bars, want 11", bars)
		}
		for _, want := range []string{`<rect class="bar map failed" data-task="m-00001"`, `class="bar map ok retry" data-task="m-00001"`,
			"m-00001 attempt 1 (retry): map on", "crashy: injected crash", `<span class="status succeeded">`,
			"map.input.records", "--param", "only=^m-00001/0$"} {
			if !strings.Contains(html, want) {
				t.Errorf("report does not say %q", want)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		sum := map[string]float64{}
		for _, w := range []*testenv.Worker{w1, w2} {
			for k, v := range getMetrics(t, w.Metrics) {
				sum[k] += v
			}
		}
		for k, want := range map[string]float64{
			`dist_tasks_finished_total{outcome="ok",phase="map"}`:     8,
			`dist_tasks_finished_total{outcome="failed",phase="map"}`: 1,
			`dist_tasks_finished_total{outcome="ok",phase="reduce"}`:  2,
			`dist_task_duration_seconds_count{phase="map"}`:           9,
			"dist_artifact_cache_misses_total":                        2,
			"dist_tasks_running":                                      0,
		} {
			if sum[k] != want {
				t.Errorf("%s = %v over both workers, want %v", k, sum[k], want)
			}
		}
		// --local workers share the client's host: they place their
		// parts in the staging directory, and serve none.
		if sum[`dist_output_delivered_bytes_total{to="local"}`] == 0 || sum["dist_output_served_bytes_total"] != 0 || sum["dist_artifact_cache_bytes"] == 0 {
			t.Errorf("output or cache bytes not counted as they went: %v", sum)
		}
		if _, ok := sum["dist_shuffle_served_bytes_total"]; !ok {
			t.Error("no dist_shuffle_served_bytes_total series")
		}
	})

	t.Run("chromium", func(t *testing.T) {
		br := testenv.Chromium(t)
		dom := br.DOM(t, page)
		m := regexp.MustCompile(`data-bars="(\d+)" data-bars-drawn="(\d+)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("the report's script did not run in Chromium:\n%.2000s", dom)
		}
		if m[1] != "11" || m[2] != "11" {
			t.Fatalf("Chromium drew %s of %s bars, want 11 of 11", m[2], m[1])
		}
		shot := filepath.Join(t.TempDir(), "report.png")
		br.Screenshot(t, page, shot, 1400, 900)
		if dst := os.Getenv("DIST_REPORT_SHOT"); dst != "" { // to look at it
			if png, err := os.ReadFile(shot); err == nil {
				_ = os.WriteFile(dst, png, 0o644)
			}
		}
	})
}

// TestReportOfFailedJob: the report is written when the job fails, and
// --quiet still prints only the error.
func TestReportOfFailedJob(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "failed.html")
	r := dist(t, "run", "--local", "2", "--app", env.App(t, "crashy"), "--input", books[0], "--output", filepath.Join(dir, "out"),
		"--param", "exit=1", "--max-attempts", "2", "--report", page, "--quiet")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); !strings.HasPrefix(lines[0], "dist: job failed: ") || strings.Contains(r.stderr, "report written") {
		t.Errorf("--quiet printed more than the error:\n%s", r.stderr)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("no report after a failed job: %v", err)
	}
	html := string(b)
	if n := strings.Count(html, `<rect class="bar map failed`); n != 2 {
		t.Errorf("%d failed bars, want 2 (--max-attempts 2)", n)
	}
	for _, want := range []string{`<span class="status failed">`, "Why the job failed", "failed 2 of 2 attempts"} {
		if !strings.Contains(html, want) {
			t.Errorf("report of a failed job does not say %q", want)
		}
	}
	// A report that cannot be written is a usage error before anything runs.
	r = dist(t, "run", "--local", "1", "--app", env.App(t, "crashy"), "--input", books[0], "--output", filepath.Join(dir, "out2"),
		"--report", filepath.Join(dir, "no", "such", "dir", "r.html"))
	if r.code != 2 || !strings.Contains(r.stderr, "--report") {
		t.Errorf("unwritable --report: exit %d\n%s", r.code, r.stderr)
	}
}

// TestLiveProgressOnTerminal runs dist under script(1), which gives it a
// terminal: progress is one line redrawn in place.
func TestLiveProgressOnTerminal(t *testing.T) {
	t.Parallel()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not installed (util-linux): no terminal to run dist on")
	}
	books := env.Corpus(t)
	cmdline := shellJoin([]string{env.Dist(t), "run", "--local", "2", "--app", env.App(t, "wordcount"),
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", filepath.Join(t.TempDir(), "out"), "--reduces", "2"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", "stty cols 150 2>/dev/null; "+cmdline, "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.Stdin = strings.NewReader("")
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, outb)
	}
	out := string(outb)
	if !strings.Contains(out, "\r") || !strings.Contains(out, "\x1b[K") {
		t.Fatalf("no status line redrawn in place on a terminal:\n%q", out)
	}
	if !regexp.MustCompile(`\[#{20}\] maps 8/8, reduces 2/2  shuffled [0-9.]+ KiB`).MatchString(out) {
		t.Errorf("the final status line does not show the finished job:\n%q", out)
	}
	if strings.Contains(out, " done on ") {
		t.Errorf("a line per finished task on a terminal:\n%q", out)
	}
	if !strings.Contains(out, "succeeded in") {
		t.Errorf("no summary:\n%q", out)
	}
}

// TestHelp: every command's help shows an example, the exit codes and an
// environment variable for every flag.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range newApp().Commands {
		if c.Hidden { // task-host: started by the worker, never by people
			continue
		}
		if c.UsageText == "" || !strings.Contains(c.UsageText, "dist "+c.Name) {
			t.Errorf("dist %s --help has no usage example", c.Name)
		}
		if !strings.Contains(c.Description, "Exit status: 0") {
			t.Errorf("dist %s --help does not document the exit codes", c.Name)
		}
		seen := map[string]string{}
		for _, f := range c.Flags {
			if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
				continue // dist run --hosted, --job-id: given by a worker, never by people
			}
			ev, ok := f.(cli.DocGenerationFlag)
			if !ok || len(ev.GetEnvVars()) == 0 {
				t.Errorf("dist %s --%s has no environment variable", c.Name, f.Names()[0])
				continue
			}
			for _, e := range ev.GetEnvVars() {
				if other, dup := seen[e]; dup {
					t.Errorf("dist %s: --%s and --%s share $%s", c.Name, other, f.Names()[0], e)
				}
				seen[e] = f.Names()[0]
				if !strings.HasPrefix(e, "DIST_") {
					t.Errorf("dist %s --%s: $%s does not start with DIST_", c.Name, f.Names()[0], e)
				}
			}
		}
	}
	r := mustRun(t, "--help")
	if !strings.Contains(r.stdout, "Exit status: 0") || !strings.Contains(r.stdout, "completion") {
		t.Errorf("dist --help:\n%s", r.stdout)
	}
}

// TestCompletion sources the bash completion script and completes a few
// command lines.
func TestCompletion(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := mustRun(t, "completion", "bash").stdout
	f := filepath.Join(t.TempDir(), "dist.bash")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		prog := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _dist_complete; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, append([]string{"-c", prog, "bash", f, env.Dist(t)}, words...)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := complete("wor"); got != "worker workers" {
		t.Errorf("dist wor<TAB> = %q", got)
	}
	if got := complete("run", "--rep"); got != "--report" {
		t.Errorf("dist run --rep<TAB> = %q", got)
	}
	for _, sh := range []string{"zsh", "fish"} {
		if r := mustRun(t, "completion", sh); !strings.Contains(r.stdout, "dist") {
			t.Errorf("dist completion %s printed %q", sh, r.stdout)
		}
	}
	if r := dist(t, "completion", "tcsh"); r.code != 2 {
		t.Errorf("dist completion tcsh: exit %d", r.code)
	}
}

// TestSystemdUnit checks that every DIST_ variable the systemd unit and its
// environment file set (or show commented out) is one dist worker reads.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, c := range newApp().Commands {
		if c.Name != "worker" {
			continue
		}
		for _, f := range c.Flags {
			if ev, ok := f.(cli.DocGenerationFlag); ok {
				for _, e := range ev.GetEnvVars() {
					known[e] = true
				}
			}
		}
	}
	re := regexp.MustCompile(`\b(DIST_[A-Z_]+)=`)
	for _, name := range []string{"dist-worker.service", "dist-worker.env"} {
		b, err := os.ReadFile(filepath.Join(env.Root(), "scripts", name))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if !known[m[1]] {
				t.Errorf("scripts/%s sets %s, which dist worker does not read", name, m[1])
			}
		}
		if n == 0 {
			t.Errorf("scripts/%s sets no DIST_ variable", name)
		}
	}
}
