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
	// Plain is the same count by userapp/plaincount, which has no
	// Combine: every word goes through the shuffle as (word, "1").
	Plain []time.Duration
	// PlainShuffled is the bytes its last run shuffled.
	PlainShuffled int64
	// DistS3 is the same job with its input and output on S3 (nil when
	// no store could be started); Upload how long putting the input
	// there took.
	DistS3 []time.Duration
	Upload time.Duration
	// Data and DataS3 are what the client carried, from the summaries
	// of the local and S3 jobs' last runs.
	Data, DataS3 ClientData
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

// PlainRatio is median plaincount time over median baseline time.
func (w *WordCount) PlainRatio() float64 {
	return median(w.Plain).Seconds() / median(w.Baseline).Seconds()
}

// plainReduces is the reduces of the count without a Combine: one per
// core, as its reduces have real work (every word's ones to count).
const plainReduces = 2

// RatioS3 is median S3 time over median local time.
func (w *WordCount) RatioS3() float64 {
	return median(w.DistS3).Seconds() / median(w.Dist).Seconds()
}

// Speedup is what two processes gain over one on this machine.
func (w *WordCount) Speedup() float64 {
	return median(w.Baseline).Seconds() / median(w.Halves).Seconds()
}

// corpusFiles is how many files the word count input is cut into.
const corpusFiles = 4

// runWordCount measures the word count; with a store it also runs it
// with input and output on S3, in the same rounds.
func runWordCount(ctx context.Context, cfg *Config, st *s3Store) (*WordCount, error) {
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
		if fi, err := os.Stat(f); err == nil {
			wc.InputBytes += fi.Size()
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
	dist := func(i int) (distRun, error) {
		out := filepath.Join(cfg.Work, fmt.Sprintf("out-%d", i))
		r, err := runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "wordcount"),
			"--input", filepath.Join(dir, "*.txt"), "--output", out)
		if err != nil {
			return r, err
		}
		return r, sameCounts(want, out)
	}
	plain := func(i int) (distRun, error) {
		out := filepath.Join(cfg.Work, fmt.Sprintf("plain-%d", i))
		r, err := runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "plaincount"),
			"--input", filepath.Join(dir, "*.txt"), "--output", out, "--reduces", strconv.Itoa(plainReduces))
		if err != nil {
			return r, err
		}
		if err := sameCounts(want, out); err != nil {
			return r, err
		}
		return r, os.RemoveAll(out)
	}
	distS3 := func(i int) (distRun, error) {
		prefix := fmt.Sprintf("wc-%d", i)
		r, err := runDist(ctx, cfg, st.env, "--local", "2", "--app", filepath.Join(cfg.Bin, "wordcount"),
			"--input", "s3://"+inBucket+"/wc/*.txt", "--output", "s3://"+outBucket+"/"+prefix)
		if err != nil {
			return r, err
		}
		local := filepath.Join(cfg.Work, "s3-"+prefix)
		if err := st.download(ctx, outBucket, prefix, local); err != nil {
			return r, err
		}
		return r, sameCounts(want, local)
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
	if st != nil {
		logf(cfg.Log, "uploading the word count input to s3://%s/wc/", inBucket)
		if wc.Upload, err = st.upload(ctx, inBucket, "wc", files); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Runs {
		logf(cfg.Log, "word count, run %d of %d", i+1, cfg.Runs)
		r, err := dist(i)
		if err != nil {
			return nil, err
		}
		wc.Dist = append(wc.Dist, r.wall)
		wc.PeakRSS = max(wc.PeakRSS, r.rss)
		wc.Data = r.data
		if r, err = plain(i); err != nil {
			return nil, fmt.Errorf("without a Combine: %w", err)
		}
		wc.Plain = append(wc.Plain, r.wall)
		wc.PlainShuffled = r.shuffled
		if st != nil {
			if r, err = distS3(i); err != nil {
				return nil, fmt.Errorf("input and output on S3: %w", err)
			}
			wc.DistS3 = append(wc.DistS3, r.wall)
			wc.DataS3 = r.data
		}
		d, rss, err := baseline()
		if err != nil {
			return nil, err
		}
		wc.Baseline = append(wc.Baseline, d)
		wc.BaselineRSS = max(wc.BaselineRSS, rss)
		if d, err = halves(); err != nil {
			return nil, err
		}
		wc.Halves = append(wc.Halves, d)
	}
	logf(cfg.Log, "word count: dist %v, baseline %v (ratio %.2f), peak RSS %d MB; without a Combine %v (ratio %.2f)",
		median(wc.Dist).Round(time.Millisecond), median(wc.Baseline).Round(time.Millisecond), wc.Ratio(), wc.PeakRSS>>20,
		median(wc.Plain).Round(time.Millisecond), wc.PlainRatio())
	if st != nil {
		logf(cfg.Log, "word count on S3: %v (%.2f × local)", median(wc.DistS3).Round(time.Millisecond), wc.RatioS3())
	}
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
