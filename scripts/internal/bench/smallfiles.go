package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SmallFiles is a word count over many small files: what a map costs
// besides its data, and what packing files into splits saves of it.
type SmallFiles struct {
	Files int
	Words int // per file
	Bytes int64
	Dist  []time.Duration // wall times of `dist run`, in run order
}

// Small-file figure: smallFiles files of smallWords words, counted
// smallRuns times; smallTarget is the bound on the median.
const (
	smallFiles  = 2000
	smallWords  = 200
	smallRuns   = 3
	smallTarget = 1500 * time.Millisecond
)

// runSmallFiles generates the files, works out their counts here, and
// times the word count over them with `dist run --local 2`, checking
// every answer.
func runSmallFiles(ctx context.Context, cfg *Config) (*SmallFiles, error) {
	dir := filepath.Join(cfg.Work, "small")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logf(cfg.Log, "generating %d files of %d words", smallFiles, smallWords)
	sf := &SmallFiles{Files: smallFiles, Words: smallWords}
	counts := map[string]int64{}
	rng := rand.New(rand.NewPCG(13, 4))
	for i := range smallFiles {
		var b strings.Builder
		for j := range smallWords {
			w := fmt.Sprintf("w%d", rng.IntN(5000))
			counts[w]++
			b.WriteString(w)
			if j%10 == 9 {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		}
		sf.Bytes += int64(b.Len())
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.txt", i)), []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
	}
	want := filepath.Join(cfg.Work, "small-counts.txt")
	if err := writeCounts(want, counts); err != nil {
		return nil, err
	}
	for i := range smallRuns {
		out := filepath.Join(cfg.Work, fmt.Sprintf("small-out-%d", i))
		r, err := runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "wordcount"),
			"--input", filepath.Join(dir, "*.txt"), "--output", out)
		if err != nil {
			return nil, err
		}
		if err := sameCounts(want, out); err != nil {
			return nil, err
		}
		sf.Dist = append(sf.Dist, r.wall)
	}
	logf(cfg.Log, "small files: dist %v (%s)", median(sf.Dist).Round(time.Millisecond), list(sf.Dist))
	return sf, nil
}

// writeCounts writes word<TAB>count lines, as the baseline does.
func writeCounts(path string, counts map[string]int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for word, n := range counts {
		fmt.Fprintf(w, "%s\t%d\n", word, n)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
