package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/registry"
)

func checkWordCounts(t *testing.T, out string, books []string) {
	t.Helper()
	want := testenv.WordCounts(t, books)
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

func TestLocalWordCount(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--local", "3", "--app", env.App(t, "wordcount"),
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "3")
	assertCommitted(t, out, 3)
	checkWordCounts(t, out, books)
	if !strings.Contains(r.stdout, "maps 8, reduces 3, workers 3") {
		t.Errorf("summary does not show 8 maps on 3 workers:\n%s", r.stdout)
	}
}

// zkCluster starts a real ZooKeeper and n registered workers.
func zkCluster(t *testing.T, n int) (*zktest.Server, []*testenv.Worker) {
	t.Helper()
	return zkClusterBin(t, n, env.Dist(t))
}

// zkClusterBin is zkCluster with workers running the given dist binary.
func zkClusterBin(t *testing.T, n int, bin string) (*zktest.Server, []*testenv.Worker) {
	t.Helper()
	zk := zktest.Start(t)
	var ws []*testenv.Worker
	for i := 0; i < n; i++ {
		ws = append(ws, testenv.StartWorker(t, bin, "--zk", zk.Addr(), "--slots", "2"))
	}
	waitWorkers(t, zk.Addr(), func(got []registry.WorkerInfo) bool { return len(got) == n })
	return zk, ws
}

// waitWorkers watches the registry until cond holds for the registered set.
func waitWorkers(t *testing.T, addr string, cond func([]registry.WorkerInfo) bool) []registry.WorkerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg, err := registry.NewZK(ctx, addr, registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ch, err := reg.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var last []registry.WorkerInfo
	for ws := range ch {
		if last = ws; cond(ws) {
			return ws
		}
	}
	t.Fatalf("registry never reached the expected state; last saw %d workers", len(last))
	return nil
}

func TestZooKeeperCluster(t *testing.T) {
	t.Parallel()
	zk, workers := zkCluster(t, 3)
	books := env.Corpus(t)
	glob := filepath.Join(filepath.Dir(books[0]), "*.txt")

	t.Run("workers table", func(t *testing.T) {
		r := mustRun(t, "workers", "--zk", zk.Addr())
		for _, w := range workers {
			if !strings.Contains(r.stdout, w.ID) || !strings.Contains(r.stdout, w.Addr) {
				t.Fatalf("dist workers does not list %s at %s:\n%s", w.ID, w.Addr, r.stdout)
			}
		}
		if lines := strings.Count(strings.TrimSpace(r.stdout), "\n"); lines != 3 {
			t.Fatalf("want a header and 3 rows:\n%s", r.stdout)
		}
		if f := strings.Fields(strings.SplitN(r.stdout, "\n", 2)[0]); strings.Join(f, " ") != "ID ADDRESS SLOTS RUNNING VERSION GO OS/ARCH UPTIME FLAGS" {
			t.Errorf("header %q", f)
		}
	})
	t.Run("workers json", func(t *testing.T) {
		r := mustRun(t, "workers", "--zk", zk.Addr(), "--json")
		var got []struct {
			ID, Addr string
			Slots    int
			Running  *int
			Uptime   int64 `json:"uptime_seconds"`
			Flags    []string
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != len(workers) {
			t.Fatalf("dist workers --json (%v):\n%s", err, r.stdout)
		}
		for _, w := range got {
			if w.Slots != 2 || w.Running == nil || *w.Running != 0 || w.Uptime < 0 || w.Flags == nil || w.Addr == "" {
				t.Errorf("worker %+v", w)
			}
		}
	})
	t.Run("wordcount", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		r := mustRun(t, "run", "--zk", zk.Addr(), "--app", env.App(t, "wordcount"), "--input", glob,
			"--output", out, "--reduces", "4")
		assertCommitted(t, out, 4)
		checkWordCounts(t, out, books)
		if !strings.Contains(r.stdout, "workers 3") {
			t.Errorf("maps did not spread over the 3 workers:\n%s", r.stdout)
		}
	})
	t.Run("indexer", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		// Two globs: --input repeats.
		mustRun(t, "run", "--zk", zk.Addr(), "--app", env.App(t, "indexer"),
			"--input", filepath.Join(filepath.Dir(books[0]), "pg-[a-h]*.txt"),
			"--input", filepath.Join(filepath.Dir(books[0]), "pg-[i-z]*.txt"),
			"--output", out, "--reduces", "2")
		assertCommitted(t, out, 2)
		files := map[string]map[string]bool{}
		testenv.Lines(t, books, func(file string, _ int64, line string) {
			for _, w := range testenv.Words(line) {
				if files[w] == nil {
					files[w] = map[string]bool{}
				}
				files[w][file] = true
			}
		})
		got := testenv.ReadOutput(t, out)
		if len(got) != len(files) {
			t.Fatalf("%d words indexed, want %d", len(got), len(files))
		}
		for w, set := range files {
			names := testenv.SortedKeys(set)
			want := fmt.Sprintf("%d %s", len(names), strings.Join(names, ","))
			if got[w] != want {
				t.Fatalf("index of %q = %q, want %q", w, got[w], want)
			}
		}
	})
	t.Run("deregister on SIGTERM", func(t *testing.T) {
		w := workers[2]
		w.Kill(syscall.SIGTERM)
		if !w.Wait(30 * time.Second) {
			t.Fatal("worker did not exit on SIGTERM")
		}
		waitWorkers(t, zk.Addr(), func(got []registry.WorkerInfo) bool {
			for _, g := range got {
				if g.ID == w.ID {
					return false
				}
			}
			return len(got) == 2
		})
	})
}

func TestGrepMapOnly(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)[:3]
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"run", "--local", "2", "--app", env.App(t, "grep"), "--output", out,
		"--reduces", "0", "--param", "pattern=[Ww]hale|Holmes"}
	for _, b := range books {
		args = append(args, "--input", b)
	}
	mustRun(t, args...)
	assertCommitted(t, out, len(books)) // one part per map
	re := regexp.MustCompile("[Ww]hale|Holmes")
	want := map[string]string{}
	testenv.Lines(t, books, func(file string, off int64, line string) {
		if re.MatchString(line) {
			want[fmt.Sprintf("%s:%d", file, off)] = line
		}
	})
	got := testenv.ReadOutput(t, out)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d matches, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("match %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestSplitsLargeFiles(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	// 64 KiB splits cut every book into many maps at line boundaries; the
	// answer must not change.
	r := mustRun(t, "run", "--local", "2", "--app", env.App(t, "wordcount"), "--input", books[0],
		"--input", books[1], "--output", out, "--reduces", "2", "--split-size", "65536")
	checkWordCounts(t, out, books[:2])
	m := regexp.MustCompile(`maps (\d+),`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no map count in summary:\n%s", r.stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n <= 2 {
		t.Fatalf("%d maps: big files were not split", n)
	}
}

func TestFailingAppShowsStderr(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	r := dist(t, "run", "--local", "2", "--app", env.App(t, "crashy"), "--input", books[0],
		"--output", out, "--param", "exit=1", "--max-attempts", "3")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "injected crash") || !strings.Contains(r.stderr, "failed 3 of 3 attempts") {
		t.Fatalf("stderr tail of the app or the attempt count not shown:\n%s", r.stderr)
	}
	if n := len(regexp.MustCompile(`m-00000 attempt \d+ failed on`).FindAllString(r.stderr, -1)); n != 3 {
		t.Fatalf("%d attempts reported, want exactly --max-attempts 3:\n%s", n, r.stderr)
	}
	assertNothingCommitted(t, out)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	wc := env.App(t, "wordcount")
	done := filepath.Join(t.TempDir(), "done")
	mustRun(t, "run", "--local", "1", "--app", wc, "--input", books[0], "--output", done)
	closed := freeAddr(t)
	cases := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"missing --app", []string{"run", "--local", "1", "--input", books[0], "--output", t.TempDir() + "/o"}, "--app is required", 2},
		{"no such app", []string{"run", "--local", "1", "--app", "/nonexistent/app", "--input", books[0], "--output", t.TempDir() + "/o"}, "/nonexistent/app", 2},
		{"input matches nothing", []string{"run", "--local", "1", "--app", wc, "--input", "/nonexistent/*.txt", "--output", t.TempDir() + "/o"}, `"/nonexistent/*.txt" matched no file`, 2},
		{"output holds _SUCCESS", []string{"run", "--local", "1", "--app", wc, "--input", books[0], "--output", done}, "--overwrite", 2},
		{"no cluster named", []string{"run", "--app", wc, "--input", books[0], "--output", t.TempDir() + "/o"}, "--local N, --zk HOSTS or --workers", 2},
		{"zookeeper unreachable", []string{"run", "--zk", closed, "--app", wc, "--input", books[0], "--output", t.TempDir() + "/o"}, closed, 1},
		{"worker unreachable", []string{"run", "--workers", closed, "--app", wc, "--input", books[0], "--output", t.TempDir() + "/o"}, closed, 1},
		{"unknown input format", []string{"run", "--local", "1", "--app", wc, "--input", books[0], "--output", t.TempDir() + "/o", "--input-format", "parquet"}, `unknown input format "parquet"`, 1},
		{"bad param", []string{"run", "--local", "1", "--app", wc, "--input", books[0], "--output", t.TempDir() + "/o", "--param", "novalue"}, "key=value", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dist(t, append(c.args, "--quiet")...)
			if r.code != c.code || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("exit %d (want %d), stderr does not name %q:\n%s", r.code, c.code, c.want, r.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
				t.Fatalf("want a one-line error, got:\n%s", r.stderr)
			}
		})
	}
	// --overwrite replaces the finished output.
	mustRun(t, "run", "--local", "1", "--app", wc, "--input", books[1], "--output", done, "--overwrite")
	checkWordCounts(t, done, books[1:2])
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l := testenv.Listen(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestReduceOfManyMaps runs a job of more maps than one launch request
// lists (client/feed.go, feedChunk): each reduce gets the rest of its map
// outputs in frames after the request, and sees every one. (A job of
// 10,000 maps could not launch its reduces: the request outgrew a frame.)
func TestReduceOfManyMaps(t *testing.T) {
	t.Parallel()
	const maps = 1100
	var in strings.Builder
	for i := range maps {
		fmt.Fprintf(&in, "w%04d all %03d\n", i, i%7) // 14 bytes: a map each
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "lines.txt")
	if err := os.WriteFile(input, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	r := mustRun(t, "run", "--local", "2", "--app", env.App(t, "wordcount"), "--input", input,
		"--output", out, "--reduces", "2", "--split-size", "14")
	if !strings.Contains(r.stdout, fmt.Sprintf("maps %d,", maps)) {
		t.Fatalf("not one map per line:\n%s", r.stdout)
	}
	checkWordCounts(t, out, []string{input})
}
