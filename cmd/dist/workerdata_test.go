package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// worker: inputs (dist worker --data-dir): each worker's matches are its
// own files, read where they are, by maps that run on that worker only.

// dataWorker starts a worker whose --data-dir holds files under app/.
func dataWorker(t *testing.T, files []string, args ...string) (*testenv.Worker, string) {
	t.Helper()
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "app", filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "other.txt"), []byte("not matched\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return testenv.StartWorker(t, env.Dist(t), append([]string{"--data-dir", data}, args...)...), data
}

func TestWorkerInputs(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	w1, data1 := dataWorker(t, books[:4], "--slots", "2")
	w2, data2 := dataWorker(t, books[4:], "--slots", "2")
	plain := testenv.StartWorker(t, env.Dist(t), "--slots", "2") // serves no worker: inputs
	all := w1.Addr + "," + w2.Addr + "," + plain.Addr

	t.Run("wordcount", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		r := mustRun(t, "run", "--workers", all, "--app", env.App(t, "wordcount"), "--input", "worker:app/*.txt",
			"--output", out, "--reduces", "3", "--split-size", "500000")
		checkWordCounts(t, out, books)
		if in, _ := clientData(t, r.stdout); in != 0 {
			t.Errorf("client data bytes in %d, want 0 for worker: inputs:\n%s", in, r.stdout)
		}
	})
	t.Run("grep names each worker's files and offsets", func(t *testing.T) {
		// Small splits cut lines at every kind of edge; each line must
		// come out once, at its offset, named by its worker and path.
		out := filepath.Join(t.TempDir(), "out")
		mustRun(t, "run", "--workers", all, "--app", env.App(t, "grep"), "--input", "worker:app/",
			"--output", out, "--reduces", "0", "--split-size", "65536", "--param", "pattern=[Ww]hale|Holmes")
		re := regexp.MustCompile("[Ww]hale|Holmes")
		want := map[string]string{}
		for _, w := range []struct {
			w    *testenv.Worker
			data string
		}{{w1, data1}, {w2, data2}} {
			files, _ := filepath.Glob(filepath.Join(w.data, "app", "*.txt"))
			testenv.Lines(t, files, func(file string, off int64, line string) {
				if re.MatchString(line) {
					want[fmt.Sprintf("worker:%s:app/%s:%d", w.w.ID, filepath.Base(file), off)] = line
				}
			})
		}
		got := testenv.ReadOutput(t, out)
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%d matches, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("match %s = %q, want %q", k, got[k], v)
			}
		}
	})
	t.Run("paths outside the data dir", func(t *testing.T) {
		for _, in := range []string{"worker:../etc/passwd", "worker:/etc/passwd", "worker:app/../../x"} {
			r := dist(t, "run", "--workers", all, "--app", env.App(t, "wordcount"), "--input", in,
				"--output", filepath.Join(t.TempDir(), "out"))
			if r.code == 0 || !strings.Contains(r.stderr, "data dir") {
				t.Errorf("--input %s: exit %d, want a refusal naming the data dir:\n%s", in, r.code, r.stderr)
			}
		}
	})
	t.Run("no worker serves them", func(t *testing.T) {
		r := dist(t, "run", "--workers", plain.Addr, "--app", env.App(t, "wordcount"), "--input", "worker:app/*.txt",
			"--output", filepath.Join(t.TempDir(), "out"))
		if r.code == 0 || !strings.Contains(r.stderr, "--data-dir") {
			t.Errorf("exit %d, want a failure saying to start workers with --data-dir:\n%s", r.code, r.stderr)
		}
	})
	t.Run("no match", func(t *testing.T) {
		r := dist(t, "run", "--workers", all, "--app", env.App(t, "wordcount"), "--input", "worker:app/*.log",
			"--output", filepath.Join(t.TempDir(), "out"))
		if r.code == 0 || !strings.Contains(r.stderr, "matched no file") {
			t.Errorf("exit %d, want a failure saying nothing matched:\n%s", r.code, r.stderr)
		}
	})
}

// The worker holding an input is lost before its map ran: there is no
// other copy, and the job fails with one line naming file and worker.
func TestWorkerInputLostWithItsWorker(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	keep, _ := dataWorker(t, books[:1], "--slots", "1")
	victim, _ := dataWorker(t, books[1:2], "--slots", "1")
	gates := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	b := startDist(t, "run", "--workers", keep.Addr+","+victim.Addr, "--app", gateApp(t), "--input", "worker:app/",
		"--output", out, "--reduces", "1", "--speculative=false",
		"--param", "gate=^m-", "--param", "gate_dir="+gates)
	waitFor(t, time.Minute, "both maps at their gates", func() bool { return len(atGate(gates, "m-")) == 2 })
	victim.Kill(syscall.SIGKILL)
	r := b.wait(t)
	name := "worker:app/" + filepath.Base(books[1])
	if r.code == 0 || !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, victim.ID) {
		t.Fatalf("exit %d; want a failure naming %s and worker %s:\n%s", r.code, name, victim.ID, r.stderr)
	}
	assertNothingCommitted(t, out)
}
