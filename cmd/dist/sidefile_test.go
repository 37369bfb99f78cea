package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// stopWordCounts is the sequential answer of userapp/stopwords.
func stopWordCounts(t *testing.T, books []string, stop ...string) map[string]int {
	counts := testenv.WordCounts(t, books)
	for _, w := range stop {
		delete(counts, w)
	}
	return counts
}

func checkCounts(t *testing.T, out string, want map[string]int) {
	t.Helper()
	got := testenv.ReadOutput(t, out)
	if len(got) != len(want) {
		t.Errorf("%d distinct words, want %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != strconv.Itoa(n) {
			t.Fatalf("count of %q = %q, want %d", w, got[w], n)
		}
	}
}

// --file ships a stop-word list to two workers; every map opens it with
// ctx.File and leaves its words out.
func TestSideFile(t *testing.T) {
	t.Parallel()
	d := env.Dist(t)
	w1 := testenv.StartWorker(t, d, "--slots", "2")
	w2 := testenv.StartWorker(t, d, "--slots", "2")
	runSideFile(t, w1.Addr+","+w2.Addr)
}

// Under --run-as the task, as nobody, can read the side files the worker
// placed.
func TestSideFileRunAs(t *testing.T) {
	t.Parallel()
	base := runAsBase(t)
	w := testenv.StartWorkerIn(t, env.Dist(t), filepath.Join(base, "w"), "--run-as", "nobody", "--slots", "2")
	runSideFile(t, w.Addr)
}

func runSideFile(t *testing.T, workers string) {
	t.Helper()
	books := env.Corpus(t)
	list := filepath.Join(t.TempDir(), "stop.txt")
	stop := []string{"the", "and", "of", "to", "a"}
	if err := os.WriteFile(list, []byte("The and\nOF\n\nto a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--workers", workers, "--app", env.App(t, "stopwords"), "--file", list,
		"--param", "list=stop.txt", "--input", filepath.Join(filepath.Dir(books[0]), "*.txt"),
		"--output", out, "--reduces", "2")
	assertCommitted(t, out, 2)
	checkCounts(t, out, stopWordCounts(t, books, stop...))
}

// Two --file with one base name, or a missing one, are usage errors
// before anything starts.
func TestSideFileRefused(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	app := env.App(t, "stopwords")
	a, b := filepath.Join(t.TempDir(), "stop.txt"), filepath.Join(t.TempDir(), "stop.txt")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte("the\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(t.TempDir(), "nope.txt")
	for _, c := range []struct {
		name  string
		files []string
		want  string
	}{
		{"same base name", []string{a, b}, `have the same base name "stop.txt"`},
		{"missing", []string{a, missing}, missing},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := []string{"run", "--local", "1", "--app", app, "--input", books[0], "--output", out, "--quiet"}
			for _, f := range c.files {
				args = append(args, "--file", f)
			}
			r := dist(t, args...)
			if r.code != 2 || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d (want 2), stderr does not name %q:\n%s", r.code, c.want, r.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
				t.Fatalf("want a one-line error, got:\n%s", r.stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("the refused job touched its output (err %v)", err)
			}
		})
	}
}
