package task_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// A packed split (many small files in one map) reads each file as a
// split of its own: keys count from the file's start, a last line
// without a newline ends with its file, compressed files decompress, and
// InputFile names the file of the record at hand.

// packedTask writes a map-only task directory whose split packs files,
// staged one after another as the worker does.
func packedTask(tb testing.TB, format string, names []string, files [][]byte) string {
	tb.Helper()
	var staged []byte
	split := spec.Split{Pack: spec.SplitFile}
	for i, f := range files {
		staged = append(staged, f...)
		split.Pieces = append(split.Pieces, spec.Piece{Name: names[i], Length: int64(len(f))})
		split.Length += int64(len(f))
	}
	cfg := spec.Config{Job: "job", Task: "m-00000", Phase: task.PhaseMap, InputFormat: format, Split: split}
	return tasktest.TaskDir(tb, tb.TempDir(), cfg, map[string][]byte{spec.SplitFile: staged})
}

func gzipped(tb testing.TB, s string) []byte {
	tb.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// byFile emits each record under the file it came from and its key.
func byFile(setupSaw *string) task.App {
	return task.App{
		Setup: func(ctx *task.Context) error { *setupSaw = ctx.InputFile(); return nil },
		Map: func(ctx *task.Context, key, value string, emit task.Emit) error {
			emit(ctx.InputFile()+"@"+key, strconv.Quote(value))
			return nil
		},
	}
}

func TestMapPacked(t *testing.T) {
	names := []string{"a.txt", "empty.txt", "c.txt", "d.gz"}
	files := [][]byte{[]byte("one\ntwo"), nil, []byte("three four\r\n\nfive\n"), gzipped(t, "six\nseven\n")}
	dir := packedTask(t, "text", names, files)
	var setup string
	res, err := task.Run(byFile(&setup), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := `a.txt@0	"one"
a.txt@4	"two"
c.txt@0	"three four"
c.txt@12	""
c.txt@13	"five"
d.gz@0	"six"
d.gz@4	"seven"
`
	if got := readOut(t, dir, spec.PartName(0)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if setup != "a.txt" {
		t.Errorf("InputFile in Setup = %q, want the first file", setup)
	}
	var total int64
	for _, f := range files {
		total += int64(len(f))
	}
	if res.Counters[spec.CounterInputRecords] != 7 || res.Counters[spec.CounterInputBytes] != total {
		t.Errorf("input.records %d, input.bytes %d, want 7 and %d", res.Counters[spec.CounterInputRecords], res.Counters[spec.CounterInputBytes], total)
	}
}

// wholefile gives one record per packed file, keyed by its name.
func TestMapPackedWholeFile(t *testing.T) {
	dir := packedTask(t, "wholefile", []string{"a", "b", "c"}, [][]byte{[]byte("x\ny"), nil, []byte("z")})
	var setup string
	if _, err := task.Run(byFile(&setup), dir); err != nil {
		t.Fatal(err)
	}
	want := "a@a\t\"x\\ny\"\nb@b\t\"\"\nc@c\t\"z\"\n"
	if got := readOut(t, dir, spec.PartName(0)); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// A staged file that does not hold the pieces' bytes is refused, never
// read short.
func TestMapPackedStagedShort(t *testing.T) {
	dir := packedTask(t, "text", []string{"a", "b"}, [][]byte{[]byte("one\n"), []byte("two\n")})
	cfg, err := spec.ReadConfig(dir + "/" + spec.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Split.Pieces[1].Length++
	cfg.Split.Length++
	if err := spec.WriteFile(dir+"/"+spec.ConfigFile, cfg); err != nil {
		t.Fatal(err)
	}
	err = mustFail(t, task.App{}, dir)
	if !errors.Is(err, input.ErrSplitSize) {
		t.Fatalf("got %v, want ErrSplitSize", err)
	}
}

// A map's error names the file of the record that failed.
func TestMapPackedErrorNamesFile(t *testing.T) {
	dir := packedTask(t, "text", []string{"a", "b"}, [][]byte{[]byte("fine\n"), []byte("bad\n")})
	app := task.App{Map: func(_ *task.Context, _, value string, _ task.Emit) error {
		if value == "bad" {
			return errors.New("no")
		}
		return nil
	}}
	err := mustFail(t, app, dir)
	if !strings.Contains(err.Error(), `b record "0"`) {
		t.Fatalf("error %q does not name file b's record", err)
	}
}

// A sample task (dist run --total-order) reads every file of a packed
// split.
func TestSamplePacked(t *testing.T) {
	files := [][]byte{[]byte("the cat"), []byte("sat on\n"), []byte("the mat\n")}
	var staged []byte
	split := spec.Split{Pack: spec.SplitFile}
	for i, f := range files {
		staged = append(staged, f...)
		split.Pieces = append(split.Pieces, spec.Piece{Name: strconv.Itoa(i), Length: int64(len(f))})
		split.Length += int64(len(f))
	}
	cfg := spec.Config{Job: "job", Task: spec.TaskID(spec.PhaseSample, 0), Phase: spec.PhaseSample, Reduces: 3,
		Order: &spec.Order{}, Split: split}
	dir := tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: staged})
	res, err := task.Run(wordCount(true), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(slices.Sorted(slices.Values(res.Sample)), " ")
	if want := "cat mat on sat the the"; got != want {
		t.Errorf("sample %q, want Map's keys of every file %q", got, want)
	}
}
