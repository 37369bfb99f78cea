// Package bench is what `make bench` runs (through scripts/bench): dist
// measured side by side with a single-process word count and with GNU
// sort, on this machine, in one go, with every answer checked.
//
// # What it measures
//
//   - Word count over about 100 MB of generated text (scripts/gencorpus)
//     with `dist run --local 2`, against scripts/baseline-wordcount: the
//     median of several runs of each, alternated, and their ratio. For
//     context, the baseline is also run as two processes on half the
//     input each, which shows what two cores give this machine at best.
//   - The same word count with its input and output on S3 (s3://…/*.txt
//     in, s3://… out), in the same rounds, and what each job's summary
//     says the client carried ("client data bytes: in N, out M").
//   - A sort of about 200 MB of 100-byte lines (99 random printable bytes
//     and "\n", generated from a fixed seed) with userapp/sort,
//     --total-order and --reduces 2, input and output local and on S3,
//     against `LC_ALL=C sort --parallel=2 -o FILE`, alternated. Every
//     output (cat part-*, S3 ones downloaded) must hash to what GNU sort
//     wrote.
//   - TeraSort: about 1 GB of teragen's 100-byte records (--tasks 4),
//     sorted by terasort with --total-order over 4 reduces, once, against
//     one `LC_ALL=C sort --parallel=2 -o FILE` of the same files; cat
//     part-* must hash to GNU sort's bytes, and teravalidate must say ok
//     to the record count and checksum worked out here from teragen's
//     files. Reported as MB/s and the ratio to GNU sort.
//   - Many small files: 2000 files of 200 words (generated from a fixed
//     seed) word-counted with `dist run --local 2`, three times, each
//     output checked against the counts worked out here: the median
//     against the 1.5 s.
//   - The peak RSS of the whole process tree during those dist runs
//     (dist run, its workers, their tasks), sampled from /proc.
//   - A warm one-line job: `dist run --zk` against three `dist worker`
//     daemons registered in a private ZooKeeper (scripts/zk-local.sh), its
//     artifact already cached: p50 and p95 of the whole command over 20
//     runs, after a sync has written out the files the parts before it
//     left. Skipped, saying why, when ZooKeeper is not installed.
//   - Artifact shipping to those three workers: a 64 MiB program shipped
//     cold (job time minus the same job with the program cached), and
//     shipped again (bytes sent, which must be 0).
//   - The task package's Benchmark functions (map-side sort and spill,
//     reduce-side merge) and io/recordio's, with -benchmem.
//
// Every job's output is compared with the baseline's counts or GNU
// sort's bytes; a mismatch fails the benchmark.
//
// # The S3 store
//
// S3 runs use a private store started for the benchmark with
// `scripts/s3-local.sh start` in the scratch directory (SeaweedFS, on
// this machine's loopback and cores) and stopped at the end. When weed is
// not built (`make weed`) the S3 rows are skipped, saying so; the rest is
// measured as usual.
//
// # Output
//
// Results print as a Markdown table and replace the part of BENCH.md
// between the markers <!-- bench:begin --> and <!-- bench:end -->; the
// notes around them are kept.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Config says where the programs are and how much to measure. Zero
// values are documented per field.
type Config struct {
	// Bin holds dist, wordcount, plaincount, sort, teragen, terasort, teravalidate,
	// baseline-wordcount and gencorpus (as
	// `make build` and `make bench` leave them). Required.
	Bin string
	// Root is the module's root directory (for go test and scripts/);
	// "" means the current directory.
	Root string
	// Out is the Markdown file to update; "" means print only.
	Out string
	// MB is the size of the word count input; 0 means 100.
	MB int
	// SortMB is the size of the sort input; 0 means 200.
	SortMB int
	// TeraMB is the size of the TeraSort input; 0 means 1000.
	TeraMB int
	// Runs is how many times each side of the word count runs; 0 means 5.
	Runs int
	// WarmRuns is how many one-line jobs are timed; 0 means 20.
	WarmRuns int
	// Work is a scratch directory; "" means a new temporary one, removed
	// at the end.
	Work string
	// Log receives progress lines; nil means os.Stderr.
	Log io.Writer
	// Only is "warm" to measure the warm one-line job alone (a quick
	// check of start-up work); its table is printed, never written to
	// Out, whose other rows it would drop. "" measures everything.
	Only string
}

func (c *Config) defaults() error {
	if c.Bin == "" {
		return fmt.Errorf("bench: no Bin directory")
	}
	if c.MB <= 0 {
		c.MB = 100
	}
	if c.SortMB <= 0 {
		c.SortMB = 200
	}
	if c.TeraMB <= 0 {
		c.TeraMB = 1000
	}
	if c.Runs <= 0 {
		c.Runs = 5
	}
	if c.WarmRuns <= 0 {
		c.WarmRuns = 20
	}
	if c.Log == nil {
		c.Log = os.Stderr
	}
	if c.Root == "" {
		c.Root = "."
	}
	switch c.Only {
	case "":
	case "warm":
		c.Out = ""
	default:
		return fmt.Errorf("bench: unknown -only %q: the one part measured alone is warm", c.Only)
	}
	var err error
	if c.Bin, err = filepath.Abs(c.Bin); err != nil {
		return err
	}
	for _, p := range []string{"dist", "wordcount", "plaincount", "sort", "teragen", "terasort", "teravalidate", "baseline-wordcount", "gencorpus"} {
		if _, err := os.Stat(filepath.Join(c.Bin, p)); err != nil {
			return fmt.Errorf("bench: %v: run `make bench` (it builds them into %s)", err, c.Bin)
		}
	}
	return nil
}

// Results is everything one run of the benchmark measured.
type Results struct {
	Started  time.Time
	Took     time.Duration
	Machine  Machine
	Words    *WordCount
	Sort     *Sort
	Tera     *TeraSort
	Small    *SmallFiles
	S3       string // the S3 store's SeaweedFS version; "" when not run
	Warm     *Warm
	Shipping *Shipping
	GoBench  []GoBench
	Scale    []GoBench // the tracker simulation
	Skipped  []string  // what could not be measured, and why
	// Synced is how long writing out the data parts' files took before
	// the warm job (0 when they did not run).
	Synced time.Duration
}

// Machine describes where the numbers come from.
type Machine struct {
	Cores     int
	CPU       string
	GoVersion string
	OS        string
	Load      string // /proc/loadavg at the start
}

// Run measures everything, writes the report, and returns the results.
// It fails when a job fails or gives a wrong answer.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.Work == "" {
		dir, err := os.MkdirTemp("", "dist-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cfg.Work = dir
	}
	res := &Results{Started: time.Now(), Machine: machine()}
	logf(cfg.Log, "dist bench: %d cores, %s, load %s; work in %s", res.Machine.Cores, res.Machine.CPU, res.Machine.Load, cfg.Work)

	all := cfg.Only == ""
	if all {
		if err := runData(ctx, &cfg, res); err != nil {
			return nil, err
		}
		res.Synced = settle(&cfg)
	}
	zk, err := startCluster(ctx, &cfg)
	switch {
	case err == nil:
		defer zk.stop()
		if res.Warm, err = runWarm(ctx, &cfg, zk); err != nil {
			return nil, fmt.Errorf("warm job: %w", err)
		}
		if !all {
			break
		}
		if res.Shipping, err = runShipping(ctx, &cfg, zk); err != nil {
			return nil, fmt.Errorf("shipping: %w", err)
		}
	case isUnavailable(err):
		res.Skipped = append(res.Skipped, fmt.Sprintf("warm job and shipping: %v", err))
		logf(cfg.Log, "skipping the ZooKeeper cluster: %v", err)
	default:
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if all {
		if res.GoBench, err = runGoBench(ctx, &cfg); err != nil {
			return nil, fmt.Errorf("go benchmarks: %w", err)
		}
		if res.Scale, err = runScale(ctx, &cfg); err != nil {
			return nil, fmt.Errorf("tracker simulation: %w", err)
		}
	}
	res.Took = time.Since(res.Started)

	table := Render(res)
	fmt.Println(table)
	if cfg.Out != "" {
		if err := update(cfg.Out, table); err != nil {
			return res, err
		}
		logf(cfg.Log, "wrote %s", cfg.Out)
	}
	return res, nil
}

// runData runs the word count and the sort, with their S3 rows when a
// store starts, and stops the store before anything else is measured.
func runData(ctx context.Context, cfg *Config, res *Results) error {
	st, err := startStore(ctx, cfg)
	switch {
	case err == nil:
		defer st.stop()
		res.S3 = st.Version
	case isUnavailable(err):
		res.Skipped = append(res.Skipped, fmt.Sprintf("word count and sort on S3: %v", err))
		logf(cfg.Log, "skipping the S3 runs: %v", err)
	default:
		return fmt.Errorf("S3 store: %w", err)
	}
	if res.Words, err = runWordCount(ctx, cfg, st); err != nil {
		return fmt.Errorf("word count: %w", err)
	}
	if res.Sort, err = runSort(ctx, cfg, st); err != nil {
		return fmt.Errorf("sort: %w", err)
	}
	if res.Tera, err = runTera(ctx, cfg); err != nil {
		return fmt.Errorf("terasort: %w", err)
	}
	if res.Small, err = runSmallFiles(ctx, cfg); err != nil {
		return fmt.Errorf("small files: %w", err)
	}
	return nil
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown CPU"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	m.Load = loadavg()
	return m
}

// loadavg is the first three fields of /proc/loadavg, or "".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return ""
}

// settle writes out what the data parts left in the page cache (gigabytes
// of sorted output) before the warm job is timed: the kernel would write
// it back meanwhile, and the job's latencies would measure the disk
// catching up rather than dist.
func settle(cfg *Config) time.Duration {
	start := time.Now()
	syscall.Sync()
	d := time.Since(start)
	logf(cfg.Log, "wrote out the data parts' files in %s", secs(d))
	return d
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, format+"\n", args...)
}

// command runs a program to its end and returns its wall time; its
// output goes to the log unless the command says otherwise.
func command(ctx context.Context, cfg *Config, name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = cfg.Root
	cmd.Stderr = cfg.Log
	return cmd, nil
}

// timed runs cmd and returns how long it took.
func timed(cmd *exec.Cmd) (time.Duration, error) {
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return d, nil
}
