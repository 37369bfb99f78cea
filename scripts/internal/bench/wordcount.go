package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WordCount is the side-by-side word count.
type WordCount struct {
	InputBytes int64
	Files      int
	Words      int64 // words counted (the sum of all counts)
	Distinct   int
	// Wall times of each run, in run order.
	Baseline []time.Duration
	Dist     []time.Duration
	// Halves: the baseline as two processes on half the input each, run
	// at once: what two cores give this machine for that work at best.
	Halves []time.Duration
	// PeakRSS is the largest sum of RSS over the dist process tree seen
	// during any dist run; BaselineRSS the baseline's own.
	PeakRSS     int64
	BaselineRSS int64
}

// Ratio is median dist time over median baseline time.
func (w *WordCount) Ratio() float64 {
	return median(w.Dist).Seconds() / median(w.Baseline).Seconds()
}

// Speedup is what two processes gain over one on this machine.
func (w *WordCount) Speedup() float64 {
	return median(w.Baseline).Seconds() / median(w.Halves).Seconds()
}

// corpusFiles is how many files the word count input is cut into.
const corpusFiles = 4

func runWordCount(ctx context.Context, cfg *Config) (*WordCount, error) {
	dir := filepath.Join(cfg.Work, "corpus")
	logf(cfg.Log, "generating %d MB of text in %d files", cfg.MB, corpusFiles)
	gen, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "gencorpus"), "-dir", dir,
		"-files", strconv.Itoa(corpusFiles), "-mb", strconv.Itoa(cfg.MB))
	if _, err := timed(gen); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no corpus in %s: %v", dir, err)
	}
	wc := &WordCount{Files: len(files)}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			wc.InputBytes += st.Size()
		}
	}

	want := filepath.Join(cfg.Work, "baseline.txt")
	baseline := func() (time.Duration, int64, error) {
		cmd, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "baseline-wordcount"), append([]string{"-o", want}, files...)...)
		return timedRSS(cmd)
	}
	halves := func() (time.Duration, error) {
		var cmds [2]*exec.Cmd
		for i := range cmds {
			part := files[i*len(files)/2 : (i+1)*len(files)/2]
			out := filepath.Join(cfg.Work, fmt.Sprintf("half-%d.txt", i))
			cmds[i], _ = command(ctx, cfg, filepath.Join(cfg.Bin, "baseline-wordcount"), append([]string{"-o", out}, part...)...)
		}
		start := time.Now()
		var first error
		for i, c := range cmds {
			if err := c.Start(); err != nil {
				if i == 1 {
					_ = cmds[0].Wait()
				}
				return 0, err
			}
		}
		for _, c := range cmds {
			if err := c.Wait(); err != nil && first == nil {
				first = err
			}
		}
		return time.Since(start), first
	}
	dist := func(i int) (time.Duration, int64, error) {
		out := filepath.Join(cfg.Work, fmt.Sprintf("out-%d", i))
		cmd, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "dist"), "run", "--local", "2", "--quiet",
			"--app", filepath.Join(cfg.Bin, "wordcount"), "--input", filepath.Join(dir, "*.txt"), "--output", out)
		cmd.Stdout = nil
		d, rss, err := timedRSS(cmd)
		if err != nil {
			return d, rss, err
		}
		return d, rss, sameCounts(want, out)
	}

	// Warm the page cache and check the baseline once before timing.
	if _, _, err := baseline(); err != nil {
		return nil, err
	}
	counts, err := readCounts([]string{want})
	if err != nil {
		return nil, err
	}
	wc.Distinct = len(counts)
	for _, n := range counts {
		wc.Words += n
	}
	for i := range cfg.Runs {
		logf(cfg.Log, "word count, run %d of %d", i+1, cfg.Runs)
		d, rss, err := dist(i)
		if err != nil {
			return nil, err
		}
		wc.Dist = append(wc.Dist, d)
		wc.PeakRSS = max(wc.PeakRSS, rss)
		if d, rss, err = baseline(); err != nil {
			return nil, err
		}
		wc.Baseline = append(wc.Baseline, d)
		wc.BaselineRSS = max(wc.BaselineRSS, rss)
		if d, err = halves(); err != nil {
			return nil, err
		}
		wc.Halves = append(wc.Halves, d)
	}
	logf(cfg.Log, "word count: dist %v, baseline %v (ratio %.2f), peak RSS %d MB",
		median(wc.Dist).Round(time.Millisecond), median(wc.Baseline).Round(time.Millisecond), wc.Ratio(), wc.PeakRSS>>20)
	return wc, nil
}

// sameCounts checks that a dist output directory holds exactly the
// counts of the baseline's file.
func sameCounts(baseline, outDir string) error {
	if _, err := os.Stat(filepath.Join(outDir, "_SUCCESS")); err != nil {
		return fmt.Errorf("%s: no _SUCCESS: %w", outDir, err)
	}
	parts, err := filepath.Glob(filepath.Join(outDir, "part-*"))
	if err != nil || len(parts) == 0 {
		return fmt.Errorf("%s: no part files", outDir)
	}
	got, err := readCounts(parts)
	if err != nil {
		return err
	}
	want, err := readCounts([]string{baseline})
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("wrong answer: dist counted %d distinct words, the baseline %d", len(got), len(want))
	}
	var bad []string
	for w, n := range want {
		if got[w] != n {
			bad = append(bad, fmt.Sprintf("%q: dist %d, baseline %d", w, got[w], n))
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("wrong answer for %d words, e.g. %s", len(bad), bad[0])
	}
	return nil
}

// readCounts reads word<TAB>count lines; a word seen twice is an error.
func readCounts(paths []string) (map[string]int64, error) {
	counts := map[string]int64{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			w, c, ok := strings.Cut(sc.Text(), "\t")
			n, err := strconv.ParseInt(c, 10, 64)
			if !ok || err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: bad line %q", p, sc.Text())
			}
			if _, dup := counts[w]; dup {
				f.Close()
				return nil, fmt.Errorf("%s: word %q appears twice", p, w)
			}
			counts[w] = n
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return counts, nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// percentile is the p-th percentile (0-100) by the nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}
