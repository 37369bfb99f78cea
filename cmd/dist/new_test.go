package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// Issue 10, item 15: `dist new` makes an app outside this repository
// that `dist build` builds without the network and `dist run` runs.

// offline is an environment in which the go command can download
// nothing and must not change go.mod: what builds here needs no network.
func offline() []string {
	return append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
}

// runEnv runs bin in dir with the environment env.
func runEnv(t *testing.T, bin, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return r
}

func mustRunEnv(t *testing.T, bin, dir string, env []string, args ...string) result {
	t.Helper()
	r := runEnv(t, bin, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("%s %v exited %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), args, r.code, r.stdout, r.stderr)
	}
	return r
}

// TestNewAppOutsideRepository creates an app with dist new in a
// directory outside the checkout, tests it with go test and builds it
// with dist build from there, all offline, runs it on two workers and
// checks the output against a word count computed here; then does the
// same with the app built as a plugin.
func TestNewAppOutsideRepository(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	root, err := filepath.Abs(env.Root())
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	app := filepath.Join(home, "wordfreq")

	// Run from the checkout, dist finds it there (this dist binary is in
	// a temporary directory, not in build/bin).
	r := mustRunEnv(t, env.Dist(t), root, offline(), "new", app)
	if !strings.Contains(r.stdout, "module wordfreq, package task from "+root) {
		t.Errorf("dist new printed:\n%s", r.stdout)
	}
	mod, err := os.ReadFile(filepath.Join(app, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"module wordfreq\n", "require github.com/distmr/dist v0.0.0\n", "replace github.com/distmr/dist => " + root + "\n"} {
		if !strings.Contains(string(mod), want) {
			t.Fatalf("go.mod lacks %q:\n%s", want, mod)
		}
	}

	goTest := exec.Command("go", "test", "-count=1", ".")
	goTest.Dir, goTest.Env = app, offline()
	if out, err := goTest.CombinedOutput(); err != nil {
		t.Fatalf("go test in the new app, offline: %v\n%s", err, out)
	}
	bin := filepath.Join(home, "wordfreq.bin")
	r = mustRunEnv(t, env.Dist(t), home, offline(), "build", "wordfreq", "-o", "wordfreq.bin")
	if !strings.Contains(r.stdout, "static binary") {
		t.Errorf("dist build printed:\n%s", r.stdout)
	}

	out := filepath.Join(home, "out")
	mustRun(t, "run", "--local", "2", "--app", bin, "--input", filepath.Join(filepath.Dir(books[0]), "*.txt"),
		"--output", out, "--reduces", "2", "--param", "min=50")
	assertCommitted(t, out, 2)
	want := map[string]string{}
	for w, n := range testenv.WordCounts(t, books) {
		if n >= 50 {
			want[w] = strconv.Itoa(n)
		}
	}
	got := testenv.ReadOutput(t, out)
	if len(got) != len(want) {
		t.Errorf("%d words seen 50 times or more, want %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != n {
			t.Fatalf("count of %q = %q, want %s", w, got[w], n)
		}
	}

	// The same source as a plugin, built by the dist that hosts it: the
	// workers load it and it gives the same answer.
	host := plainDist(t)
	plugin := filepath.Join(home, "wordfreq.so")
	mustRunEnv(t, host, home, offline(), "build", "--plugin", "wordfreq", "-o", plugin)
	pout := filepath.Join(home, "pout")
	mustRunIn(t, host, "", "run", "--local", "2", "--plugin", "--app", plugin, "--input", filepath.Join(filepath.Dir(books[0]), "*.txt"),
		"--output", pout, "--reduces", "2", "--param", "min=50")
	if sortedOutput(t, pout) != sortedOutput(t, out) {
		t.Fatal("the plugin and the binary of the new app disagree")
	}

	// Into a directory that is not empty (the app just made): refused.
	r = runEnv(t, env.Dist(t), root, offline(), "new", app)
	oneLine(t, r, exitUsage, app+" already holds", "new or empty directory")
}

// TestNewNeedsTheCheckout: away from the checkout, dist new says how to
// name it, and does with --dist-src.
func TestNewNeedsTheCheckout(t *testing.T) {
	t.Parallel()
	elsewhere := t.TempDir()
	r := runEnv(t, env.Dist(t), elsewhere, offline(), "new", "app")
	oneLine(t, r, exitJobFailed, "no dist checkout", "in or above ", elsewhere+": pass --dist-src DIR")
	if _, err := os.Stat(filepath.Join(elsewhere, "app")); !os.IsNotExist(err) {
		t.Fatalf("a refused dist new left %s/app (%v)", elsewhere, err)
	}
	r = runEnv(t, env.Dist(t), elsewhere, offline(), "new", "--dist-src", elsewhere, "app")
	oneLine(t, r, exitUsage, "no dist checkout at "+elsewhere)
	mustRunEnv(t, env.Dist(t), elsewhere, offline(), "new", "--dist-src", env.Root(), "app")
	for _, f := range []string{"main.go", "main_test.go", "go.mod", "go.sum", "go.work"} {
		if _, err := os.Stat(filepath.Join(elsewhere, "app", f)); err != nil {
			t.Error(err)
		}
	}
}
