package task_test

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// corpusDir holds the test corpus, beside the repository.
const corpusDir = "../../shared/corpus/gutenberg"

func corpus(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("test corpus missing: no %s/*.txt (%v)", corpusDir, err)
	}
	return files
}

func words(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

func sum(ctx *task.Context, word string, counts task.Values, emit task.Emit) error {
	var n int64
	for c := range counts {
		v, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return err
		}
		n += v
	}
	emit(word, strconv.FormatInt(n, 10))
	return nil
}

func wordCount(combine bool) task.App {
	app := task.App{
		Map: func(ctx *task.Context, _, line string, emit task.Emit) error {
			for _, w := range words(line) {
				emit(w, "1")
			}
			return nil
		},
		Reduce: sum,
	}
	if combine {
		app.Combine = sum
	}
	return app
}

// countDirectly counts the words of files without dist.
func countDirectly(tb testing.TB, files []string) map[string]int64 {
	tb.Helper()
	counts := map[string]int64{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, w := range words(string(data)) {
			counts[w]++
		}
	}
	return counts
}

// parseCounts reads word<TAB>count lines, checking each part is sorted
// and no word appears twice.
func parseCounts(tb testing.TB, out *tasktest.Output) map[string]int64 {
	tb.Helper()
	counts := map[string]int64{}
	for i, part := range out.Parts {
		var keys []string
		for _, line := range strings.Split(strings.TrimSuffix(part, "\n"), "\n") {
			if line == "" {
				continue
			}
			w, c, ok := strings.Cut(line, "\t")
			n, err := strconv.ParseInt(c, 10, 64)
			if !ok || err != nil {
				tb.Fatalf("part %d: bad line %q", i, line)
			}
			if _, dup := counts[w]; dup {
				tb.Fatalf("word %q appears twice", w)
			}
			counts[w] = n
			keys = append(keys, w)
		}
		if !slices.IsSorted(keys) {
			tb.Errorf("part %d is not sorted by key", i)
		}
	}
	return counts
}

func sameCounts(tb testing.TB, got, want map[string]int64) {
	tb.Helper()
	if maps.Equal(got, want) {
		return
	}
	tb.Errorf("counts differ: got %d words, want %d", len(got), len(want))
	shown := 0
	for w, n := range want {
		if got[w] != n && shown < 10 {
			tb.Errorf("  %q: got %d, want %d", w, got[w], n)
			shown++
		}
	}
	for w := range got {
		if _, ok := want[w]; !ok && shown < 20 {
			tb.Errorf("  unexpected word %q", w)
			shown++
		}
	}
}

// mapTask writes a map task directory over data and returns it.
func mapTask(tb testing.TB, cfg spec.Config, data string) string {
	tb.Helper()
	if cfg.Job == "" {
		cfg.Job = "job"
	}
	if cfg.Task == "" {
		cfg.Task = spec.TaskID(task.PhaseMap, cfg.Index)
	}
	cfg.Phase = task.PhaseMap
	if cfg.Split.File == "" {
		cfg.Split = spec.Split{File: spec.SplitFile, Name: "input.txt", Length: int64(len(data))}
	}
	return tasktest.TaskDir(tb, tb.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte(data)})
}

// mustFail runs a task that must fail, checks result.msgpack says so, and
// returns the error.
func mustFail(tb testing.TB, app task.App, dir string) error {
	tb.Helper()
	res, err := task.Run(app, dir)
	if err == nil {
		tb.Fatal("task succeeded, want a failure")
	}
	var te *task.TaskError
	if !errors.As(err, &te) {
		tb.Fatalf("error %T is not a *TaskError: %v", err, err)
	}
	onDisk, rerr := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if rerr != nil {
		tb.Fatal(rerr)
	}
	if res.Status != spec.StatusFailed || onDisk.Status != spec.StatusFailed || onDisk.Error != te.Err.Error() {
		tb.Fatalf("result does not record the failure: returned %+v, on disk %+v", res, onDisk)
	}
	return err
}

func readOut(tb testing.TB, dir, name string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(dir, spec.OutDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}
