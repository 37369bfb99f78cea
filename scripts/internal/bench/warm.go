package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/distmr/dist/client"
	"github.com/distmr/dist/registry"
)

// Warm is the one-line job on a warm cluster.
type Warm struct {
	// Runs are the wall times of whole `dist run --zk` commands: process
	// start, ZooKeeper session, the job, output commit, exit.
	Runs []time.Duration
	// Jobs are the same job run through package client in this process,
	// with a ZooKeeper session already open: the job alone.
	Jobs []time.Duration
	// Start is the median wall time of `dist --help`: what starting the
	// dist binary costs before any work. (Not `dist version`, which
	// reads its own 35 MB ELF to say whether it hosts plugins: ~40 ms.)
	Start time.Duration
	// Load is /proc/loadavg before the first timed run.
	Load string
}

// oneLine is the input of the warm job.
const oneLine = "the quick brown fox jumps over the lazy dog, the end\n"

func runWarm(ctx context.Context, cfg *Config, c *zkCluster) (*Warm, error) {
	dir := filepath.Join(cfg.Work, "warm")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	in := filepath.Join(dir, "line.txt")
	if err := os.WriteFile(in, []byte(oneLine), 0o644); err != nil {
		return nil, err
	}
	want := filepath.Join(dir, "want.txt")
	b, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "baseline-wordcount"), "-o", want, in)
	if _, err := timed(b); err != nil {
		return nil, err
	}
	run := func(i int) (time.Duration, error) {
		out := filepath.Join(dir, fmt.Sprintf("out-%d", i))
		cmd, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "dist"), "run", "--zk", c.zkAddr, "--quiet",
			"--app", filepath.Join(cfg.Bin, "wordcount"), "--input", in, "--output", out)
		d, err := timed(cmd)
		if err != nil {
			return d, err
		}
		return d, sameCounts(want, out)
	}
	w := &Warm{}
	logf(cfg.Log, "warm one-line job: %d runs of dist run --zk", cfg.WarmRuns)
	if _, err := run(-1); err != nil { // ships and caches the program
		return nil, err
	}
	w.Load = loadavg()
	for i := range cfg.WarmRuns {
		d, err := run(i)
		if err != nil {
			return nil, err
		}
		w.Runs = append(w.Runs, d)
	}

	zk, err := registry.NewZK(ctx, c.zkAddr, registry.ZKOptions{})
	if err != nil {
		return nil, err
	}
	defer zk.Close()
	for i := range cfg.WarmRuns {
		out := filepath.Join(dir, fmt.Sprintf("lib-%d", i))
		sum, err := runJob(ctx, zk, filepath.Join(cfg.Bin, "wordcount"), []string{in}, out)
		if err != nil {
			return nil, err
		}
		if err := sameCounts(want, out); err != nil {
			return nil, err
		}
		w.Jobs = append(w.Jobs, sum.Wall)
	}

	var starts []time.Duration
	for range 5 {
		cmd, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "dist"), "--help")
		d, err := timed(cmd)
		if err != nil {
			return nil, err
		}
		starts = append(starts, d)
	}
	w.Start = median(starts)
	logf(cfg.Log, "warm one-line job: p50 %v, p95 %v (the job alone: p50 %v)",
		percentile(w.Runs, 50).Round(time.Millisecond/10), percentile(w.Runs, 95).Round(time.Millisecond/10),
		percentile(w.Jobs, 50).Round(time.Millisecond/10))
	return w, nil
}

// runJob runs a word count through package client, as dist run does.
func runJob(ctx context.Context, workers registry.Lister, app string, inputs []string, out string) (*client.Summary, error) {
	cfg := client.DefaultConfig()
	cfg.App, cfg.Inputs, cfg.Output = app, inputs, out
	job, err := client.Prepare(cfg)
	if err != nil {
		return nil, err
	}
	return job.Run(ctx, workers)
}

// Shipping is a big program shipped to the three workers.
type Shipping struct {
	Size    int64 // bytes of the program
	Workers int
	// Cold is the job that ships the program to every worker, Warm the
	// same job once every worker has it cached (medians of shipRuns).
	Cold, Warm           time.Duration
	ColdBytes, WarmBytes int64 // artifact bytes sent
	// Prepare is what `dist run` spends before the job: mostly hashing
	// the program.
	Prepare time.Duration
	// DiskRate is, for context, how fast this machine writes Workers new
	// files of Size bytes at once (MB/s, from memory, no network): every
	// cold upload ends up as such a file.
	DiskRate float64
}

// Rate is the aggregate shipping rate in MiB/s: the bytes sent over the
// time the cold job took beyond the warm one.
func (s *Shipping) Rate() float64 {
	extra := (s.Cold - s.Warm).Seconds()
	if extra <= 0 {
		return 0
	}
	return float64(s.ColdBytes) / (1 << 20) / extra
}

// bigArtifact is the size of the shipped program; shipRuns is how many
// times it is shipped cold (a new program each time) and cached.
const (
	bigArtifact = 64 << 20
	shipRuns    = 3
)

func runShipping(ctx context.Context, cfg *Config, c *zkCluster) (*Shipping, error) {
	dir := filepath.Join(cfg.Work, "ship")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var inputs []string
	for i := range clusterWorkers { // one map per worker
		p := filepath.Join(dir, fmt.Sprintf("line-%d.txt", i))
		if err := os.WriteFile(p, []byte(oneLine), 0o644); err != nil {
			return nil, err
		}
		inputs = append(inputs, p)
	}
	want := filepath.Join(dir, "want.txt")
	b, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "baseline-wordcount"), append([]string{"-o", want}, inputs...)...)
	if _, err := timed(b); err != nil {
		return nil, err
	}
	zk, err := registry.NewZK(ctx, c.zkAddr, registry.ZKOptions{})
	if err != nil {
		return nil, err
	}
	defer zk.Close()

	s := &Shipping{Size: bigArtifact, Workers: clusterWorkers}
	var app string
	run := func(name string) (*client.Summary, error) {
		out := filepath.Join(dir, name)
		cfgc := client.DefaultConfig()
		cfgc.App, cfgc.Inputs, cfgc.Output = app, inputs, out
		start := time.Now()
		job, err := client.Prepare(cfgc)
		if err != nil {
			return nil, err
		}
		prepared := time.Since(start)
		sum, err := job.Run(ctx, zk)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(name, "cold") {
			s.Prepare = prepared
		}
		return sum, sameCounts(want, out)
	}
	logf(cfg.Log, "shipping a %d MiB program to %d workers", bigArtifact>>20, clusterWorkers)
	var cold []time.Duration
	for i := range shipRuns {
		// The word count program padded to 64 MiB with random bytes
		// (which the loader ignores), so that no cache has it.
		app = filepath.Join(dir, fmt.Sprintf("wordcount-64m-%d", i))
		if err := padProgram(filepath.Join(cfg.Bin, "wordcount"), app, bigArtifact); err != nil {
			return nil, err
		}
		sum, err := run(fmt.Sprintf("cold-%d", i))
		if err != nil {
			return nil, err
		}
		cold = append(cold, sum.Wall)
		s.ColdBytes = sum.BytesShipped
	}
	s.Cold = median(cold)
	var warm []time.Duration
	for i := range shipRuns {
		sum, err := run(fmt.Sprintf("warm-%d", i))
		if err != nil {
			return nil, err
		}
		warm = append(warm, sum.Wall)
		s.WarmBytes = max(s.WarmBytes, sum.BytesShipped)
	}
	s.Warm = median(warm)
	if s.DiskRate, err = writeRate(filepath.Join(dir, "disk"), s.Workers, s.Size); err != nil {
		return nil, err
	}
	logf(cfg.Log, "shipping: cold job %v, warm %v: %.0f MiB/s aggregate; re-ship %d bytes",
		s.Cold.Round(time.Millisecond), s.Warm.Round(time.Millisecond), s.Rate(), s.WarmBytes)
	return s, nil
}

// writeRate writes n new files of size bytes at once into dir and
// returns the aggregate rate in MB/s.
func writeRate(dir string, n int, size int64) (float64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	buf := make([]byte, 256<<10)
	_, _ = rand.Read(buf)
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		go func() {
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%d", i)))
			if err != nil {
				errs <- err
				return
			}
			for w := int64(0); w < size && err == nil; w += int64(len(buf)) {
				_, err = f.Write(buf)
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	return float64(int64(n)*size) / 1e6 / time.Since(start).Seconds(), nil
}

// padProgram copies the program src to dst and appends random bytes up
// to size.
func padProgram(src, dst string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, in)
	if err == nil && n < size {
		_, err = io.CopyN(out, rand.Reader, size-n)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
