package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// concatParts returns the job's parts in name order, concatenated, as
// `cat part-*` would.
func concatParts(t *testing.T, out string, n int) []byte {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(out, "part-*"))
	if err != nil || len(parts) != n {
		t.Fatalf("%d parts in %s (%v), want %d", len(parts), out, err, n)
	}
	var all []byte
	for _, p := range parts { // Glob sorts
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestTotalOrderWordCount(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--local", "2", "--app", env.App(t, "wordcount"), "--total-order",
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "4")
	assertCommitted(t, out, 4)
	checkWordCounts(t, out, books)
	var keys []string
	for _, line := range strings.Split(strings.TrimSuffix(string(concatParts(t, out, 4)), "\n"), "\n") {
		k, _, _ := strings.Cut(line, "\t")
		keys = append(keys, k)
	}
	if !slices.IsSorted(keys) {
		t.Fatal("cat part-* is not sorted by word")
	}
	for i := range 4 {
		if st, err := os.Stat(filepath.Join(out, fmt.Sprintf("part-%05d", i))); err != nil || st.Size() == 0 {
			t.Errorf("part %d is empty or missing (%v): the cut points do not spread the words", i, err)
		}
	}
}

// writeLines writes n random lines to path, a share hot of them one same
// line, and returns the file's bytes.
func writeLines(t *testing.T, path string, n int, hot float64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(13, 1))
	var b bytes.Buffer
	for range n {
		if rng.Float64() < hot {
			b.WriteString("m the one hot line\n")
			continue
		}
		fmt.Fprintf(&b, "%c%08x %d\n", 'a'+rng.IntN(26), rng.Uint32(), rng.IntN(1000))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gnuSort is `LC_ALL=C sort` of path.
func gnuSort(t *testing.T, path string) []byte {
	t.Helper()
	cmd := exec.Command("sort", path)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("sort %s: %v", path, err)
	}
	return want
}

// TestTotalOrderSort runs the identity sort with three reduces over many
// splits; without skew, and with one line 30% of all, which must still
// finish with the right answer (equal cut points: one reduce gets the
// line, the part between them is empty).
func TestTotalOrderSort(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		hot  float64
	}{{"uniform", 0}, {"skewed", 0.3}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "lines.txt")
			writeLines(t, in, 150_000, c.hot)
			out := filepath.Join(dir, "out")
			mustRun(t, "run", "--local", "2", "--app", env.App(t, "sort"), "--total-order", "--input", in,
				"--output", out, "--reduces", "3", "--split-size", "400000")
			assertCommitted(t, out, 3)
			if got, want := concatParts(t, out, 3), gnuSort(t, in); !bytes.Equal(got, want) {
				t.Fatalf("cat part-* (%d bytes) is not LC_ALL=C sort's output (%d bytes)", len(got), len(want))
			}
		})
	}
}

func TestTotalOrderNeedsReduces(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	r := dist(t, "run", "--local", "1", "--app", env.App(t, "wordcount"), "--total-order",
		"--input", books[0], "--output", filepath.Join(t.TempDir(), "out"), "--reduces", "0")
	if r.code == 0 || !strings.Contains(r.stderr, "--total-order") {
		t.Fatalf("exit %d, stderr %q: want a refusal naming --total-order", r.code, r.stderr)
	}
}

// The sample pass shares workers as the maps do: a sample that finds its
// worker busy waits for a slot there instead of failing the job. Here
// three splits of worker: files are pinned to a worker with one slot, so
// their samples, launched together, find it busy with one another.
func TestTotalOrderPinnedSamplesShareSlots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var files []string
	var all []byte
	for i := range 3 {
		f := filepath.Join(dir, fmt.Sprintf("lines%d.txt", i))
		all = append(all, writeLines(t, f, 5_000, 0)...) // ~80 KB: one split each, not packed
		files = append(files, f)
	}
	whole := filepath.Join(dir, "all.txt")
	if err := os.WriteFile(whole, all, 0o644); err != nil {
		t.Fatal(err)
	}
	w, _ := dataWorker(t, files, "--slots", "1")
	out := filepath.Join(dir, "out")
	mustRun(t, "run", "--workers", w.Addr, "--app", env.App(t, "sort"), "--total-order", "--input", "worker:app/*.txt",
		"--output", out, "--reduces", "2")
	if got, want := concatParts(t, out, 2), gnuSort(t, whole); !bytes.Equal(got, want) {
		t.Fatalf("cat part-* (%d bytes) is not LC_ALL=C sort's output (%d bytes)", len(got), len(want))
	}
}

// A totally ordered job started while another job holds every slot waits
// for its turn in the sample pass too, and is charged nothing for it.
func TestTotalOrderWaitsForBusyWorker(t *testing.T) {
	t.Parallel()
	w := testenv.StartWorker(t, env.Dist(t), "--slots", "1")
	glob, _ := booksGlob(t)
	gates := t.TempDir()
	a := startWatched(t, "run", "--workers", w.Addr, "--app", gateApp(t), "--input", glob,
		"--output", filepath.Join(t.TempDir(), "a"), "--reduces", "1", "--speculative=false",
		"--param", `gate=^m-00000/0$`, "--param", "gate_dir="+gates)
	waitFor(t, time.Minute, "job A holding the slot", func() bool { return len(atGate(gates, "m-")) == 1 || a.exited() })
	if a.exited() {
		t.Fatalf("job A ended early:\n%s", a.wait(t).stderr)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "lines.txt")
	writeLines(t, in, 20_000, 0)
	out := filepath.Join(dir, "out")
	b := startWatched(t, "run", "--workers", w.Addr, "--app", env.App(t, "sort"), "--total-order", "--input", in,
		"--output", out, "--reduces", "2", "--log-level", "info")
	waitFor(t, time.Minute, "job B waiting for a slot", func() bool { return b.stderrHas("waiting for a slot") || b.exited() })
	if b.exited() {
		r := b.wait(t)
		t.Fatalf("job B ended while A held the slot instead of waiting (exit %d):\n%s", r.code, r.stderr)
	}
	openGate(t, gates, "open")
	rb := b.wait(t)
	if rb.code != 0 {
		t.Fatalf("job B failed (exit %d):\n%s", rb.code, rb.stderr)
	}
	if got, want := concatParts(t, out, 2), gnuSort(t, in); !bytes.Equal(got, want) {
		t.Fatalf("cat part-* (%d bytes) is not LC_ALL=C sort's output (%d bytes)", len(got), len(want))
	}
	if n := summaryNumber(t, rb.stdout, "failed"); n != 0 {
		t.Fatalf("job B was charged %d failed attempts for waiting:\n%s\n%s", n, rb.stdout, rb.stderr)
	}
	if ra := a.wait(t); ra.code != 0 {
		t.Fatalf("job A failed (exit %d):\n%s", ra.code, ra.stderr)
	}
}
