package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// Many small files are packed into few maps (client/pack.go); each record
// must still be counted once, at its offset in its own file, under its
// own name (ctx.InputFile).

// smallFiles writes n small files of random words under dir: each holds
// a word of its own ("docN"), some are empty, one ends without a newline.
func smallFiles(t *testing.T, dir string, n int, seed uint64) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var files []string
	for i := range n {
		var b strings.Builder
		if i%97 != 13 { // some empty files
			lines := 1 + rng.IntN(4)
			for l := range lines {
				for range 1 + rng.IntN(8) {
					fmt.Fprintf(&b, "w%d ", rng.IntN(300))
				}
				if l == lines/2 {
					fmt.Fprintf(&b, "doc%d Match", i)
				}
				if i != 7 || l < lines-1 { // file 7 ends without a newline
					b.WriteString("\n")
				}
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("f%05d.txt", i))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	return files
}

// index is what userapp/indexer must write for files, each named by
// name: word -> "n file1,file2,...".
func index(t *testing.T, files []string, name func(string) string) map[string]string {
	t.Helper()
	in := map[string]map[string]bool{}
	testenv.Lines(t, files, func(file string, _ int64, line string) {
		for _, w := range testenv.Words(line) {
			if in[w] == nil {
				in[w] = map[string]bool{}
			}
			in[w][name(file)] = true
		}
	})
	out := map[string]string{}
	for w, set := range in {
		names := testenv.SortedKeys(set)
		out[w] = strconv.Itoa(len(names)) + " " + strings.Join(names, ",")
	}
	return out
}

// grepped is what userapp/grep with pattern "Match" must write for files.
func grepped(t *testing.T, files []string, name func(string) string) map[string]string {
	t.Helper()
	want := map[string]string{}
	testenv.Lines(t, files, func(file string, off int64, line string) {
		if strings.Contains(line, "Match") {
			want[fmt.Sprintf("%s:%d", name(file), off)] = line
		}
	})
	return want
}

func sameOutput(t *testing.T, what, out string, want map[string]string) {
	t.Helper()
	got := testenv.ReadOutput(t, out)
	if len(got) != len(want) {
		t.Errorf("%s: %d keys, want %d", what, len(got), len(want))
	}
	for _, k := range testenv.SortedKeys(want) {
		if got[k] != want[k] {
			t.Fatalf("%s: %q = %q, want %q", what, k, got[k], want[k])
		}
	}
}

// packedMaps reads the number of maps from a summary and checks that
// files were packed: far fewer maps than files.
func packedMaps(t *testing.T, stdout string, files int) {
	t.Helper()
	m := regexp.MustCompile(`maps (\d+), reduces`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no map count in the summary:\n%s", stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n > files/50 {
		t.Errorf("%d maps for %d small files: they were not packed", n, files)
	}
}

func TestPackedSmallFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := smallFiles(t, dir, 2000, 1)
	input := filepath.Join(dir, "*.txt")
	same := func(f string) string { return f }

	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--local", "2", "--app", env.App(t, "wordcount"), "--input", input, "--output", out, "--reduces", "2")
	checkWordCounts(t, out, files)
	packedMaps(t, r.stdout, len(files))

	// grep's keys are InputFile and the offset in it: right for each
	// record, or the line is not where the key says.
	out = filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--local", "2", "--app", env.App(t, "grep"), "--input", input, "--output", out, "--reduces", "0",
		"--param", "pattern=Match")
	sameOutput(t, "grep", out, grepped(t, files, same))
}

// worker: inputs are packed per worker: each map reads one worker's
// files, where they are.
func TestPackedWorkerInputs(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	files := smallFiles(t, src, 600, 2)
	w1, data1 := dataWorker(t, files[:300], "--slots", "2")
	w2, data2 := dataWorker(t, files[300:], "--slots", "2")
	var held []string // the files as each worker holds them
	names := map[string]string{}
	for _, w := range []struct {
		w    *testenv.Worker
		data string
	}{{w1, data1}, {w2, data2}} {
		got, _ := filepath.Glob(filepath.Join(w.data, "app", "*.txt"))
		for _, f := range got {
			names[f] = "worker:" + w.w.ID + ":app/" + filepath.Base(f)
		}
		held = append(held, got...)
	}
	slices.Sort(held)
	name := func(f string) string { return names[f] }
	workers := w1.Addr + "," + w2.Addr

	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--workers", workers, "--app", env.App(t, "indexer"), "--input", "worker:app/*.txt",
		"--output", out, "--reduces", "2")
	sameOutput(t, "index", out, index(t, held, name))
	packedMaps(t, r.stdout, len(files))
	if in, _ := clientData(t, r.stdout); in != 0 {
		t.Errorf("client data bytes in %d, want 0 for worker: inputs:\n%s", in, r.stdout)
	}

	out = filepath.Join(t.TempDir(), "out")
	mustRun(t, "run", "--workers", workers, "--app", env.App(t, "grep"), "--input", "worker:app/",
		"--output", out, "--reduces", "0", "--param", "pattern=Match")
	sameOutput(t, "grep", out, grepped(t, held, name))
}

// A worker on another host is sent a packed split: its files one after
// another, in one upload.
func TestPackedSentByClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := smallFiles(t, dir, 300, 3)
	w := testenv.StartWorker(t, withEnv(t, "DIST_HOST_ID=elsewhere"), "--slots", "2")
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--workers", w.Addr, "--app", env.App(t, "grep"), "--input", filepath.Join(dir, "*.txt"),
		"--output", out, "--reduces", "0", "--param", "pattern=Match", "--speculative=false")
	sameOutput(t, "grep", out, grepped(t, files, func(f string) string { return f }))
	packedMaps(t, r.stdout, len(files))
	var size int64
	for _, f := range files {
		size += fileSize(t, f)
	}
	if in, _ := clientData(t, r.stdout); in < size || strings.Contains(r.stdout, "(failed 0, backups 0,") && in != size {
		t.Errorf("client data bytes in %d, want the files' %d:\n%s", in, size, r.stdout)
	}
}
