package task_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// benchText makes n bytes of lines of words from a Zipf-like vocabulary.
func benchText(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, 50000)
	var b strings.Builder
	for b.Len() < n {
		for i := range 10 {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "w%d", zipf.Uint64())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// BenchmarkMapSortSpill runs a word-count map over 4 MiB with a 512 KiB
// sort buffer and 4 reduces: sorting, spilling and merging runs.
func BenchmarkMapSortSpill(b *testing.B) {
	for _, combine := range []bool{false, true} {
		b.Run(fmt.Sprintf("combine=%v", combine), func(b *testing.B) {
			benchMap(b, wordCount(combine), spec.Config{Reduces: 4, SortBuffer: 512 << 10}, benchText(4<<20))
		})
	}
}

// BenchmarkMapNoCombine runs a word-count map without Combine over
// 16 MiB with the default sort buffer and 4 reduces, as a job's map runs:
// 2.9 M emits of (word, "1") from a Zipf vocabulary.
func BenchmarkMapNoCombine(b *testing.B) {
	benchMap(b, wordCount(false), spec.Config{Reduces: 4}, benchText(16<<20))
}

// BenchmarkMapSortDistinct runs an identity map over 16 MB of
// TeraSort-like lines (10 random key bytes of 100) with a 4 MiB sort
// buffer and 4 reduces: keys that never repeat, so the sort buffer's
// radix sort, spills and the merge of runs do all the work.
func BenchmarkMapSortDistinct(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	var text strings.Builder
	line := make([]byte, 100)
	for text.Len() < 16e6 {
		for i := range line[:99] {
			line[i] = byte(' ' + rng.IntN(95))
		}
		line[99] = '\n'
		text.Write(line)
	}
	app := task.App{Map: func(_ *task.Context, _, line string, emit task.Emit) error {
		emit(line[:10], line[10:])
		return nil
	}}
	benchMap(b, app, spec.Config{Reduces: 4, SortBuffer: 4 << 20}, text.String())
}

// BenchmarkMapCombine runs a word-count map with Combine over 8 MiB
// with the default sort buffer and 4 reduces: the combining buffer's
// path, where nothing spills.
func BenchmarkMapCombine(b *testing.B) {
	benchMap(b, wordCount(true), spec.Config{Reduces: 4}, benchText(8<<20))
}

// benchMap runs app as a map task over text, b.N times.
func benchMap(b *testing.B, app task.App, cfg spec.Config, text string) {
	dir := mapTask(b, cfg, text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := task.Run(app, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReduceMerge runs a word-count reduce over 16 map outputs.
func BenchmarkReduceMerge(b *testing.B) {
	const maps = 16
	root := b.TempDir()
	cfg := spec.Config{Job: "bench", Task: "r-00000", Phase: task.PhaseReduce, Reduces: 1}
	var bytes int64
	for m := range maps {
		dir := mapTask(b, spec.Config{Index: m, Reduces: 1}, benchText(1<<20))
		res, err := task.Run(wordCount(false), dir)
		if err != nil {
			b.Fatal(err)
		}
		bytes += res.Outputs[0].Size
		cfg.Inputs = append(cfg.Inputs, tasktest.MapInput(b, dir, 0))
	}
	dir := tasktest.TaskDir(b, root, cfg, nil)
	app := wordCount(false)
	b.SetBytes(bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := task.Run(app, dir); err != nil {
			b.Fatal(err)
		}
	}
}
