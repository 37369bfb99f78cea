package streaming

import (
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// script writes an executable shell script and returns its path.
func script(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func needAwk(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk:", err)
	}
}

// example returns the word count scripts of userapp/streaming.
func example(t *testing.T) (mapper, reducer Command) {
	t.Helper()
	needAwk(t)
	dir := filepath.Join("..", "..", "userapp", "streaming")
	return Command{Path: filepath.Join(dir, "map.sh")}, Command{Path: filepath.Join(dir, "reduce.sh")}
}

func corpus(t *testing.T) []string {
	t.Helper()
	env, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env.Corpus(t)
}

func counts(t *testing.T, out *tasktest.Output) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, line := range out.Lines() {
		w, c, _ := strings.Cut(line, "\t")
		n, err := strconv.Atoi(c)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		if _, dup := got[w]; dup {
			t.Fatalf("word %q twice", w)
		}
		got[w] = n
	}
	return got
}

func TestWordCount(t *testing.T) {
	mapper, reducer := example(t)
	books := corpus(t)[:3]
	want := testenv.WordCounts(t, books)
	for _, c := range []struct {
		name     string
		combiner Command
		batch    int
	}{
		{"no combiner", Command{}, 0},
		// Small batches: many combiner processes per map task.
		{"combiner", reducer, 64 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := App(Commands{Mapper: mapper, Reducer: reducer, Combiner: c.combiner, CombineBatch: c.batch})
			out := tasktest.Run(t, app, tasktest.Job{Inputs: books, Reduces: 3, SplitSize: 256 << 10, SortBuffer: 256 << 10})
			if got := counts(t, out); !maps.Equal(got, want) {
				t.Fatalf("%d words, want %d", len(got), len(want))
			}
			var in, mapOut int64
			for _, m := range out.Maps {
				in += m.Counters[spec.CounterInputRecords]
				mapOut += m.Counters[spec.CounterOutputRecords]
			}
			lines := 0
			testenv.Lines(t, books, func(string, int64, string) { lines++ })
			if in != int64(lines) || mapOut == 0 {
				t.Fatalf("counters: map input %d, map output %d", in, mapOut)
			}
		})
	}
}

// TestNoDeadlock has a mapper write far more than it reads and a reducer
// read everything before writing: both pipes fill up.
func TestNoDeadlock(t *testing.T) {
	needAwk(t)
	mapper := script(t, "fan.sh", `exec awk '{ for (i = 0; i < 40; i++) print i "\t" $0 }'`)
	reducer := script(t, "slurp.sh", `sort | awk -F '\t' '{ n[$1]++ } END { for (k in n) print k "\t" n[k] }'`)
	books := corpus(t)[:1]
	lines := 0
	testenv.Lines(t, books, func(string, int64, string) { lines++ })
	done := make(chan *tasktest.Output, 1)
	go func() {
		done <- tasktest.Run(t, App(Commands{Mapper: Command{Path: mapper}, Reducer: Command{Path: reducer}}),
			tasktest.Job{Inputs: books, Reduces: 1})
	}()
	select {
	case out := <-done:
		got := counts(t, out)
		if len(got) != 40 || got["0"] != lines || got["39"] != lines {
			t.Fatalf("got %v, want 40 keys with %d each", got, lines)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("streaming job deadlocked")
	}
}

func TestLinesWithoutTab(t *testing.T) {
	mapper := script(t, "upper.sh", `exec tr a-z A-Z`)
	out := tasktest.Run(t, App(Commands{Mapper: Command{Path: mapper}}), tasktest.Job{Inputs: corpus(t)[:1], Reduces: 0})
	first := out.Lines()[0]
	if !strings.HasSuffix(first, "\t") || strings.ToUpper(first) != first {
		t.Fatalf("a line without a tab is a key with an empty value: got %q", first)
	}
}

func TestKeyValueInputAndEnv(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.kv")
	if err := os.WriteFile(in, []byte("a\t1\nb\t2\tx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mapper := script(t, "env.sh", `echo "file	$DIST_INPUT_FILE"; echo "param	$DIST_PARAM_color"; echo "task	$DIST_TASK_ID $DIST_REDUCES"; cat`)
	reducer := script(t, "cat.sh", `echo "reducer	$DIST_TASK_ID"; exec cat`)
	app := App(Commands{Mapper: Command{Path: mapper}, Reducer: Command{Path: reducer}, KeyValueInput: true,
		Params: map[string]string{"color": "blue", "bad-name": "x"}})
	out := tasktest.Run(t, app, tasktest.Job{Inputs: []string{in}, Reduces: 1, InputFormat: "kv",
		Params: map[string]string{"color": "blue"}})
	want := []string{"reducer\tr-00000", "a\t1", "b\t2\tx", "file\t" + in, "param\tblue", "task\tm-00000 1"}
	if got := out.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMapperFails(t *testing.T) {
	mapper := script(t, "fail.sh", `echo warming up >&2; echo "boom: bad record" >&2; exit 3`)
	dir := mapDir(t, "one\ntwo\n")
	_, err := task.Run(App(Commands{Mapper: Command{Path: mapper, Name: "fail.sh"}, Stderr: io.Discard}), dir)
	if err == nil || !strings.Contains(err.Error(), "mapper fail.sh exited with status 3: boom: bad record") {
		t.Fatalf("error %v", err)
	}
}

func TestMapperStopsEarly(t *testing.T) {
	mapper := script(t, "head.sh", `exec head -n 2`)
	var big strings.Builder
	for i := range 200000 {
		big.WriteString(strconv.Itoa(i) + "\n")
	}
	dir := mapDir(t, big.String())
	if _, err := task.Run(App(Commands{Mapper: Command{Path: mapper}, Reducer: Command{Path: mapper}}), dir); err != nil {
		t.Fatalf("a mapper may stop reading and exit 0: %v", err)
	}
	res, err := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if err != nil || res.Counters[spec.CounterOutputRecords] != 2 {
		t.Fatalf("result %+v, %v", res, err)
	}
}

func TestCommandCannotStart(t *testing.T) {
	dir := t.TempDir()
	noShebang := filepath.Join(dir, "noshebang")
	if err := os.WriteFile(noShebang, []byte("\x13\x37garbage"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(dir, "notexec.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\ncat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noInterp := filepath.Join(dir, "nointerp.sh")
	if err := os.WriteFile(noInterp, []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		noShebang: "a script needs a #! line",
		notExec:   "chmod +x",
		noInterp:  "interpreter installed",
	} {
		_, err := task.Run(App(Commands{Mapper: Command{Path: path}, Stderr: io.Discard}), mapDir(t, "x\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to say %q", filepath.Base(path), err, want)
		}
	}
}

func TestKillStopsCommand(t *testing.T) {
	// The pipeline's processes outlive sh and hold its stdout and stderr.
	sleeper := script(t, "sleep.sh", `sleep 3 | cat`)
	p, err := start("mapper", Command{Path: sleeper}, os.Environ(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.kill()
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("kill took %v", d)
	}
	p.kill() // idempotent
}

// mapDir makes a map task directory over data with one reduce partition.
func mapDir(t *testing.T, data string) string {
	t.Helper()
	cfg := spec.Config{Job: "job", Task: "m-00000", Phase: task.PhaseMap, Reduces: 1,
		Split: spec.Split{File: spec.SplitFile, Name: "in.txt", Length: int64(len(data))}}
	return tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte(data)})
}
