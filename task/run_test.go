package task_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/io/output"
	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

func TestMapOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.txt")
	data := "GET /a\r\nPOST /b\nGET /c\nGET /d"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	app := task.App{Map: func(ctx *task.Context, key, line string, emit task.Emit) error {
		if strings.HasPrefix(line, "GET") {
			emit(ctx.InputFile()+":"+key, line)
		}
		return nil
	}}
	out := tasktest.Run(t, app, tasktest.Job{Inputs: []string{path}, SplitSize: 8})
	if len(out.Parts) != 3 {
		t.Fatalf("%d parts, want one per split (3)", len(out.Parts))
	}
	want := fmt.Sprintf("%[1]s:0\tGET /a\n%[1]s:16\tGET /c\n%[1]s:23\tGET /d\n", path)
	if got := strings.Join(out.Parts, ""); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
	if n := out.Counter(spec.CounterInputRecords); n != 4 {
		t.Errorf("input.records = %d, want 4", n)
	}
	if n := out.Counter(spec.CounterOutputRecords); n != 3 {
		t.Errorf("output.records = %d, want 3", n)
	}
	if n := out.Counter(spec.CounterInputBytes); n != int64(len(data)) {
		t.Errorf("input.bytes = %d, want %d", n, len(data))
	}
	f := out.Maps[2].Outputs[0]
	if f.Name != spec.PartName(2) || f.Partition != 2 || f.Records != 2 || f.Size != int64(len(out.Parts[2])) {
		t.Errorf("map 2 output described as %+v", f)
	}
	if out.Parts[1] != "" {
		t.Errorf("map 1 matched nothing but wrote %q", out.Parts[1])
	}
}

func TestIdentityAppAndKVInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.kv")
	if err := os.WriteFile(path, []byte("b\t2\na\t1\nc\nb\t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := tasktest.Run(t, task.App{}, tasktest.Job{Inputs: []string{path}, Reduces: 1, InputFormat: "kv"})
	if want := "a\t1\nb\t2\nb\t1\nc\t\n"; out.Parts[0] != want {
		t.Fatalf("identity job wrote %q, want %q (sorted by key, stable)", out.Parts[0], want)
	}
}

func TestEmptyPartitionsAreWritten(t *testing.T) {
	dir := mapTask(t, spec.Config{Reduces: 5}, "word\n")
	res, err := task.Run(wordCount(false), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 5 {
		t.Fatalf("%d outputs, want 5", len(res.Outputs))
	}
	var records int64
	for p, f := range res.Outputs {
		if _, err := os.Stat(filepath.Join(dir, spec.OutDir, spec.MapPartName(p))); err != nil {
			t.Fatal(err)
		}
		records += f.Records
	}
	if records != 1 {
		t.Errorf("%d records across partitions, want 1", records)
	}
	if p := task.HashPartition("word", 5); res.Outputs[p].Records != 1 {
		t.Errorf("the record is not in partition HashPartition(word, 5) = %d", p)
	}
}

func TestUnknownFormats(t *testing.T) {
	dir := mapTask(t, spec.Config{Reduces: 1, InputFormat: "x"}, "data\n")
	err := mustFail(t, task.App{}, dir)
	want := `dist task m-00000: map: unknown input format "x" (known: kv, text, wholefile)`
	if !errors.Is(err, input.ErrUnknownFormat) || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}

	dir = mapTask(t, spec.Config{OutputFormat: "parquet"}, "data\n")
	err = mustFail(t, task.App{}, dir)
	if !errors.Is(err, output.ErrUnknownFormat) || !strings.Contains(err.Error(), `"parquet" (known: text)`) {
		t.Fatalf("got %v", err)
	}
}

// upper is an app-defined input format: lines, upper-cased.
type upper struct{}

func (upper) Open(s input.Split) (input.Reader, error) {
	r, err := input.KV{}.Open(s)
	return upperReader{r}, err
}

type upperReader struct{ input.Reader }

func (u upperReader) Next() (string, string, error) {
	k, v, err := u.Reader.Next()
	return strings.ToUpper(k), strings.ToUpper(v), err
}

func TestAppFormats(t *testing.T) {
	dir := mapTask(t, spec.Config{InputFormat: "upper"}, "a\tb\n")
	app := task.App{InputFormats: input.Formats{"upper": upper{}}}
	if _, err := task.Run(app, dir); err != nil {
		t.Fatal(err)
	}
	if got := readOut(t, dir, spec.PartName(0)); got != "A\tB\n" {
		t.Fatalf("app format not used: %q", got)
	}
}

func TestMapError(t *testing.T) {
	dir := mapTask(t, spec.Config{Reduces: 2}, "one\ntwo\nthree\n")
	app := task.App{Map: func(ctx *task.Context, key, value string, emit task.Emit) error {
		if value == "two" {
			return errors.New("cannot handle two")
		}
		emit(value, "")
		return nil
	}}
	err := mustFail(t, app, dir)
	want := `dist task m-00000: map: input.txt record "4": cannot handle two`
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	var stderr bytes.Buffer
	if code := task.MainStatus(app, dir, &stderr); code != 1 || stderr.String() != want+"\n" {
		t.Fatalf("Main exits %d printing %q; want 1 and one line", code, stderr.String())
	}
}

func TestSetupAndCleanup(t *testing.T) {
	var calls []string
	app := task.App{
		Setup: func(ctx *task.Context) error {
			calls = append(calls, "setup")
			ctx.SetState(ctx.Param("suffix"))
			return nil
		},
		Map: func(ctx *task.Context, _, value string, emit task.Emit) error {
			ctx.Counter("lines").Add(1)
			emit(value+ctx.State().(string), fmt.Sprint(ctx.Phase(), " ", ctx.TaskID(), " ", ctx.Attempt(), " ", ctx.Reduces(), " ", ctx.JobID()))
			return nil
		},
		Cleanup: func(ctx *task.Context) error {
			calls = append(calls, "cleanup")
			return nil
		},
	}
	dir := mapTask(t, spec.Config{Job: "j1", Task: "m-00007", Index: 7, Attempt: 2, Params: map[string]string{"suffix": "!"}}, "a\nb\n")
	res, err := task.Run(app, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := readOut(t, dir, spec.PartName(7)); got != "a!\tmap m-00007 2 0 j1\nb!\tmap m-00007 2 0 j1\n" {
		t.Fatalf("output %q", got)
	}
	if res.Counters["lines"] != 2 || res.Counters[spec.CounterInputRecords] != 2 {
		t.Errorf("counters %v", res.Counters)
	}
	if strings.Join(calls, ",") != "setup,cleanup" {
		t.Errorf("calls %v", calls)
	}

	calls = nil
	app.Map = nil
	app.Setup = func(*task.Context) error { return errors.New("no pattern given: pass --param pattern=RE") }
	err = mustFail(t, app, mapTask(t, spec.Config{}, "a\n"))
	if err.Error() != "dist task m-00000: map: setup: no pattern given: pass --param pattern=RE" || len(calls) != 0 {
		t.Fatalf("got %q, calls %v", err, calls)
	}

	app.Setup = nil
	app.Cleanup = func(*task.Context) error { return errors.New("flush cache") }
	err = mustFail(t, app, mapTask(t, spec.Config{}, "a\n"))
	if !strings.HasSuffix(err.Error(), "map: cleanup: flush cache") {
		t.Fatalf("got %q", err)
	}
}

func TestPanicIsRecovered(t *testing.T) {
	app := task.App{Reduce: func(*task.Context, string, task.Values, task.Emit) error {
		var m map[string]int
		//lint:ignore SA5000 the reduce panics on purpose
		m["boom"]++
		return nil
	}}
	dir := reduceTask(t, 1, [][]string{{"k", "v"}})
	err := mustFail(t, app, dir)
	var p *task.PanicError
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "panic: assignment to entry in nil map") {
		t.Fatalf("got %v", err)
	}
	var stderr bytes.Buffer
	if code := task.MainStatus(app, dir, &stderr); code != 2 {
		t.Fatalf("Main exits %d after a panic, want 2", code)
	}
	if !strings.Contains(stderr.String(), "goroutine ") || !strings.Contains(stderr.String(), "run_test.go") {
		t.Errorf("stderr lacks the stack:\n%s", stderr.String())
	}
}

func TestMainWithoutTaskDir(t *testing.T) {
	var stderr bytes.Buffer
	if code := task.MainStatus(task.App{}, "", &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	msg := stderr.String()
	if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "dist run --app PATH") {
		t.Fatalf("message %q", msg)
	}
}

func TestBadConfig(t *testing.T) {
	dir := t.TempDir()
	err := mustFailNoResult(t, dir)
	if !strings.HasPrefix(err.Error(), "dist task: read config: ") {
		t.Fatalf("got %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, spec.ConfigFile), []byte("\xc1garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mustFail(t, task.App{}, dir); !errors.Is(err, spec.ErrBadConfig) {
		t.Fatalf("got %v, want ErrBadConfig", err)
	}
}

func mustFailNoResult(t *testing.T, dir string) error {
	t.Helper()
	_, err := task.Run(task.App{}, dir)
	if err == nil {
		t.Fatal("task without a config succeeded")
	}
	return err
}

func TestBadPartition(t *testing.T) {
	app := wordCount(false)
	app.Partition = func(key string, n int) int { return n }
	err := mustFail(t, app, mapTask(t, spec.Config{Reduces: 3}, "hello\n"))
	if !errors.Is(err, task.ErrBadPartition) || !strings.Contains(err.Error(), `Partition("hello", 3) returned 3`) {
		t.Fatalf("got %v", err)
	}
}

func TestCombineMustKeepKey(t *testing.T) {
	app := wordCount(true)
	app.Combine = func(_ *task.Context, key string, values task.Values, emit task.Emit) error {
		emit(key+"x", "1")
		return nil
	}
	err := mustFail(t, app, mapTask(t, spec.Config{Reduces: 1}, "hello\n"))
	if !errors.Is(err, task.ErrCombineKey) {
		t.Fatalf("got %v", err)
	}
}

// failingFormat is an output format whose Close loses the output.
type failingFormat struct{}

func (failingFormat) NewWriter(w io.Writer) (output.Writer, error) { return failingWriter{}, nil }

type failingWriter struct{}

func (failingWriter) Write(key, value string) error { return nil }
func (failingWriter) Close() error                  { return errors.New("device full") }

func TestOutputCloseErrorFailsTask(t *testing.T) {
	app := task.App{OutputFormats: output.Formats{"text": failingFormat{}}}
	err := mustFail(t, app, mapTask(t, spec.Config{}, "a\n"))
	if !strings.Contains(err.Error(), "write part-00000: device full") {
		t.Fatalf("got %v", err)
	}
	err = mustFail(t, app, reduceTask(t, 1, [][]string{{"k", "v"}}))
	if !strings.Contains(err.Error(), "reduce: write part-00000: device full") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingInput(t *testing.T) {
	dir := mapTask(t, spec.Config{}, "a\n")
	if err := os.Remove(filepath.Join(dir, spec.SplitFile)); err != nil {
		t.Fatal(err)
	}
	err := mustFail(t, task.App{}, dir)
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "dist task m-00000: map: open input input.txt: ") {
		t.Fatalf("got %v", err)
	}
}

// reduceTask writes one sorted map output file per element of files
// (each a list of key, value, key, value...) and a reduce task over them.
func reduceTask(tb testing.TB, reduces int, files [][]string) string {
	tb.Helper()
	root := tb.TempDir()
	cfg := spec.Config{Job: "job", Task: spec.TaskID(task.PhaseReduce, 0), Phase: task.PhaseReduce, Reduces: reduces}
	contents := map[string][]byte{}
	for i, kvs := range files {
		var buf bytes.Buffer
		w := recordio.NewWriter(&buf)
		for j := 0; j < len(kvs); j += 2 {
			if err := w.WriteString(kvs[j], kvs[j+1]); err != nil {
				tb.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		name := filepath.Join(spec.InDir, fmt.Sprintf("m-%05d", i))
		contents[name] = buf.Bytes()
		cfg.Inputs = append(cfg.Inputs, spec.Input{File: name, Map: spec.TaskID(task.PhaseMap, i),
			Size: int64(buf.Len()), CRC32C: crc32.Checksum(buf.Bytes(), crc32.MakeTable(crc32.Castagnoli))})
	}
	return tasktest.TaskDir(tb, root, cfg, contents)
}
