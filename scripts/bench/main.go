// Command bench runs dist's benchmarks side by side and writes BENCH.md
// (see package scripts/internal/bench). `make bench` builds what it needs and
// runs it:
//
//	go run ./scripts/bench -bin build/bin -out BENCH.md
//
// -only warm measures the warm one-line job alone, in under a minute.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/distmr/dist/scripts/internal/bench"
)

func main() {
	var cfg bench.Config
	flag.StringVar(&cfg.Bin, "bin", "build/bin", "directory with dist, wordcount, plaincount, sort, teragen, terasort, teravalidate, baseline-wordcount and gencorpus")
	flag.StringVar(&cfg.Out, "out", "BENCH.md", "Markdown file whose generated part is replaced (empty: print only)")
	flag.IntVar(&cfg.MB, "mb", 100, "size of the word count input in MB")
	flag.IntVar(&cfg.SortMB, "sort-mb", 200, "size of the sort input in MB")
	flag.IntVar(&cfg.TeraMB, "tera-mb", 1000, "size of the TeraSort input in MB")
	flag.IntVar(&cfg.Runs, "runs", 5, "runs of each side of the word count and of the sort")
	flag.IntVar(&cfg.WarmRuns, "warm-runs", 20, "timed one-line jobs")
	flag.StringVar(&cfg.Only, "only", "", "measure one part alone and print it (BENCH.md is left as it is): warm")
	flag.StringVar(&cfg.Work, "work", "", "scratch directory (default: a temporary one, removed)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := bench.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
