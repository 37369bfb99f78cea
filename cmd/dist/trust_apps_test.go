package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// Issue 10, items 10 and 14: a program that does not call task.Main is
// refused before shipping when its function table shows it, and fails
// its job on the first attempt when it only fools that check; a bad
// --param of crashy ends the job at once.

// writeModule writes files into a new directory and returns it.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// goBuildIn runs a static go build of pkg in dir with extra flags.
func goBuildIn(t *testing.T, dir, pkg string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(filepath.Clean(dir)))
	cmd := exec.Command("go", append(append([]string{"build", "-trimpath", "-o", out}, flags...), pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// launches returns the attempts a worker launched, as "task/attempt".
func launches(t *testing.T, w *testenv.Worker) []string {
	t.Helper()
	b, err := os.ReadFile(w.Log)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`msg=launch .*task=(\S+) attempt=(\d+)`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1]+"/"+m[2])
	}
	return out
}

// twoWorkers starts two plain workers for one test.
func twoWorkers(t *testing.T) ([]*testenv.Worker, string) {
	t.Helper()
	ws := []*testenv.Worker{testenv.StartWorker(t, env.Dist(t)), testenv.StartWorker(t, env.Dist(t))}
	return ws, ws[0].Addr + "," + ws[1].Addr
}

// onlyFirstAttempts fails unless the workers launched at least one
// attempt and every one of them was a first attempt.
func onlyFirstAttempts(t *testing.T, ws []*testenv.Worker) {
	t.Helper()
	var all []string
	for _, w := range ws {
		all = append(all, launches(t, w)...)
	}
	if len(all) == 0 {
		t.Fatal("no attempt was launched")
	}
	for _, l := range all {
		if !strings.HasSuffix(l, "/0") {
			t.Fatalf("attempts %v: a failure no retry can fix was retried", all)
		}
	}
}

// TestPlainGoProgramRefusedBeforeShipping ships a Go hello-world, plain
// and stripped of its symbol table: dist run refuses it with exit status
// 2 and one line before anything is shipped. A stripped word count, which
// does call task.Main, still runs and gives the right answer.
func TestPlainGoProgramRefusedBeforeShipping(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	glob := filepath.Join(filepath.Dir(books[0]), "*.txt")
	hello := writeModule(t, map[string]string{
		"go.mod":  "module hello\n\ngo 1.24\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello, world\") }\n",
	})
	w := testenv.StartWorker(t, env.Dist(t))
	for _, app := range []string{goBuildIn(t, hello, "."), goBuildIn(t, hello, ".", "-ldflags=-s -w")} {
		r := dist(t, "run", "--workers", w.Addr, "--app", app, "--input", glob,
			"--output", filepath.Join(t.TempDir(), "out"), "--quiet")
		oneLine(t, r, exitUsage, "--app "+app+" does not call task.Main: build it from a main package that calls task.Main(task.App{...})",
			`(see README "Writing an app")`)
	}
	if cached, _ := os.ReadDir(filepath.Join(w.Dir, "cache")); len(cached) > 0 {
		t.Fatalf("the refused program reached the worker: cache holds %d files", len(cached))
	}
	if l := launches(t, w); len(l) > 0 {
		t.Fatalf("the worker launched %v", l)
	}

	stripped := goBuildIn(t, env.Root(), "./userapp/wordcount", "-ldflags=-s -w")
	out := filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--workers", w.Addr, "--app", stripped, "--input", glob, "--output", out, "--reduces", "2")
	assertCommitted(t, out, 2)
	checkWordCounts(t, out, books)
}

// TestProgramNotCallingMainFailsOnFirstAttempt ships a program that links
// task.Main but never calls it (testdata/nomain), so it passes the check
// before shipping: the worker sees it exit without spec.StartedFile and
// the job fails at once, on the first attempt of each map, with one line
// saying to call task.Main.
func TestProgramNotCallingMainFailsOnFirstAttempt(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	ws, addrs := twoWorkers(t)
	app := env.Build(t, "./cmd/dist/testdata/nomain", false, "CGO_ENABLED=0")
	out := filepath.Join(t.TempDir(), "out")
	r := dist(t, "run", "--workers", addrs, "--app", app, "--input", filepath.Join(filepath.Dir(books[0]), "*.txt"),
		"--output", out, "--quiet")
	oneLine(t, r, exitJobFailed, "app "+filepath.Base(app)+" exited with status 0 without calling task.Main: build it from a main package that calls task.Main(task.App{...})")
	assertNothingCommitted(t, out)
	onlyFirstAttempts(t, ws)
}

// TestCrashyBadParamIsFatal: crashy with --param exit=abc (not a
// probability) fails on the first attempt of each map, with one line
// naming the parameter; before, every map used its four attempts.
func TestCrashyBadParamIsFatal(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	ws, addrs := twoWorkers(t)
	for _, c := range []struct{ param, want string }{
		{"exit=abc", `param exit="abc" is not a number: run with --param exit=NUMBER`},
		{"stall=2", `param stall=2: want a probability from 0 to 1`},
	} {
		out := filepath.Join(t.TempDir(), "out")
		r := dist(t, "run", "--workers", addrs, "--app", env.App(t, "crashy"), "--param", c.param,
			"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--quiet")
		oneLine(t, r, exitJobFailed, c.want)
		assertNothingCommitted(t, out)
	}
	onlyFirstAttempts(t, ws)

	// A good parameter still gives the exact word count.
	out := filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--workers", addrs, "--app", env.App(t, "crashy"), "--param", "exit=0", "--param", "stall_secs=1",
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "2")
	checkWordCounts(t, out, books)
}
