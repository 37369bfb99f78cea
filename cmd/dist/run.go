package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/client"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

func runCommand() *cli.Command {
	def := client.DefaultConfig() // the flags' defaults are the package's
	return &cli.Command{
		Name:  "run",
		Usage: "run a job: ship --app to the workers and map/reduce --input into --output",
		UsageText: `dist run --app ./wordcount --input 'books/*.txt' --output out --local 3
dist run --app ./wordcount --input 'books/*.txt' --output out --zk zk1:2181 --reduces 4
dist run --plugin --app ./wordcount.so --input 'books/*.txt' --output out --local 3
dist run --exec --mapper map.sh --reducer reduce.sh --input 'books/*.txt' --output out --local 3
dist run --app ./crashy --param exit=0.2 --input 'books/*.txt' --output out --local 3 --report report.html
dist run --app ./wordcount --input 's3://books/*.txt' --output s3://out/wc --zk zk1:2181 --reduces 4
dist run --app ./grep --param pattern=ERROR --input 'worker:app/*.log' --output hits --reduces 0 --zk zk1:2181
dist run --app ./teragen --tasks 4 --param rows=1000000 --output tera --reduces 0 --local 2`,
		Description: `On a terminal, progress is one status line redrawn in place (maps and reduces
done, bytes shuffled, workers in use, retries); otherwise each event is a plain
timestamped line on stderr. The summary goes to stdout; --quiet prints only
errors and, on success, the output directory. --report FILE writes an HTML
page with a timeline of every attempt (one row per worker slot), counters and
configuration, also when the job fails.

Data is read where it lives: s3://BUCKET/KEY inputs by each map from the store
(the standard AWS_* variables on every machine), worker:PATH inputs by the maps
on the workers that hold them (dist worker --data-dir), local files in place by
workers on this host; an s3://BUCKET/PREFIX output is uploaded by the tasks
and committed by this client. The summary's "client data bytes" says what
still went through this client.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "app", EnvVars: []string{"DIST_APP"}, Usage: "the program to ship (a static Go binary built against package task)"},
			&cli.BoolFlag{Name: "plugin", EnvVars: []string{"DIST_PLUGIN"}, Usage: "--app is a Go plugin (.so) exporting App (build it with dist build --plugin)"},
			&cli.BoolFlag{Name: "exec", EnvVars: []string{"DIST_EXEC"}, Usage: "run --mapper and --reducer commands instead of --app: lines on stdin, key<TAB>value lines on stdout"},
			&cli.StringFlag{Name: "mapper", EnvVars: []string{"DIST_MAPPER"}, Usage: "with --exec: the map `CMD`, an executable or #! script to ship"},
			&cli.StringFlag{Name: "reducer", EnvVars: []string{"DIST_REDUCER"}, Usage: "with --exec: the reduce `CMD`; it reads its partition's lines sorted by key"},
			&cli.StringFlag{Name: "combiner", EnvVars: []string{"DIST_COMBINER"}, Usage: "with --exec: an optional `CMD` run over sorted batches of map output"},
			&cli.StringSliceFlag{Name: "input", EnvVars: []string{"DIST_INPUT"}, Usage: "input files, directories or quoted globs; s3://BUCKET/KEY (a glob over the last element, or a prefix ending in /); worker:PATH under each worker's --data-dir (repeatable)"},
			&cli.IntFlag{Name: "tasks", EnvVars: []string{"DIST_TASKS"}, Usage: "instead of --input, run `N` map tasks with no input: each calls Map once with its index as key (generators: teragen, pi)"},
			&cli.StringFlag{Name: "output", EnvVars: []string{"DIST_OUTPUT"}, Usage: "output directory, or s3://BUCKET/PREFIX (receives part-NNNNN and _SUCCESS)"},
			&cli.BoolFlag{Name: "overwrite", EnvVars: []string{"DIST_OVERWRITE"}, Usage: "replace a finished job's output"},
			&cli.IntFlag{Name: "reduces", Value: def.Reduces, EnvVars: []string{"DIST_REDUCES"}, Usage: "reduce tasks; 0 = map-only"},
			&cli.BoolFlag{Name: "total-order", EnvVars: []string{"DIST_TOTAL_ORDER"}, Usage: "sort the output across parts, so that cat part-* is in key byte order: sample tasks on a few splits pick cut points from Map's keys first (one hot key fills one part)"},
			&cli.StringSliceFlag{Name: "file", EnvVars: []string{"DIST_FILE"}, Usage: "a side file to ship with the app, opened by a task by its base name: ctx.File(NAME) (repeatable)"},
			&cli.StringSliceFlag{Name: "param", EnvVars: []string{"DIST_PARAM"}, Usage: "k=v passed to the app (repeatable)"},
			&cli.StringFlag{Name: "input-format", Value: def.InputFormat, EnvVars: []string{"DIST_INPUT_FORMAT"}, Usage: "text, wholefile or kv"},
			&cli.IntFlag{Name: "max-attempts", Value: def.MaxAttempts, EnvVars: []string{"DIST_MAX_ATTEMPTS"}, Usage: "attempts per task before the job fails"},
			&cli.DurationFlag{Name: "task-timeout", Value: def.TaskTimeout, EnvVars: []string{"DIST_TASK_TIMEOUT"}, Usage: "kill an attempt running longer"},
			&cli.BoolFlag{Name: "speculative", Value: true, EnvVars: []string{"DIST_SPECULATIVE"}, Usage: "start backup attempts for stragglers (--speculative=false turns it off)"},
			&cli.BoolFlag{Name: "early-reduces", Value: true, EnvVars: []string{"DIST_EARLY_REDUCES"}, Usage: "let reduces take idle slots and fetch map outputs before the last map ends (--early-reduces=false waits for every map)"},
			&cli.DurationFlag{Name: "keepalive", Value: def.KeepAlive, EnvVars: []string{"DIST_KEEPALIVE"}, Usage: "ping workers this often; a worker that stops answering is lost"},
			&cli.Int64Flag{Name: "split-size", Value: def.SplitSize, EnvVars: []string{"DIST_SPLIT_SIZE"}, Usage: "split inputs larger than this many bytes: local files at line ends, s3:// and worker: ones at plain byte offsets (each split then reads the lines that start in it); pack smaller files several to a split, up to this size"},
			&cli.Int64Flag{Name: "sort-buffer", EnvVars: []string{"DIST_SORT_BUFFER"}, Usage: fmt.Sprintf("map-side sort buffer in bytes (0 = %d MB)", spec.DefaultSortBuffer>>20)},
			&cli.IntFlag{Name: "local", EnvVars: []string{"DIST_LOCAL"}, Usage: "start `N` local workers for this job (no ZooKeeper needed)"},
			&cli.IntFlag{Name: "local-slots", EnvVars: []string{"DIST_LOCAL_SLOTS"}, Usage: "slots per --local worker (0 = the cores shared among the workers, at least 1 each)"},
			&cli.StringFlag{Name: "zk", EnvVars: []string{"DIST_ZK"}, Usage: "ZooKeeper `HOSTS[/chroot]` where workers register"},
			&cli.StringFlag{Name: "workers", EnvVars: []string{"DIST_WORKERS"}, Usage: "worker addresses `ADDR,...` (no registry)"},
			&cli.DurationFlag{Name: "worker-wait", Value: def.WorkerWait, EnvVars: []string{"DIST_WORKER_WAIT"}, Usage: "how long to wait for the first worker"},
			&cli.BoolFlag{Name: "quiet", EnvVars: []string{"DIST_QUIET"}, Usage: "print only errors and the output path"},
			&cli.StringFlag{Name: "report", EnvVars: []string{"DIST_REPORT"}, Usage: "write an HTML report (timeline of every attempt, counters, configuration) to `FILE`, also when the job fails"},
			&cli.BoolFlag{Name: "detach", EnvVars: []string{"DIST_DETACH"}, Usage: "with --zk: hand the job to a job master on a worker, print its id and exit; s3:// and worker: data only (follow it with dist wait JOB)"},
			&cli.StringFlag{Name: "ui", EnvVars: []string{"DIST_UI"}, Usage: "serve the report page live at `ADDR` (HOST:PORT; 127.0.0.1:0 picks a port) while the job runs; an address other than loopback needs --secret-file, and the page a password made from it, printed with the address"},
			secretFlag(),
			// A worker's master host runs a submitted job's master as
			// `dist run --hosted --job-id ID` (hosted.go).
			&cli.BoolFlag{Name: "hosted", Hidden: true, Usage: "run as the job master of a submitted job (started by a worker)"},
			&cli.StringFlag{Name: "job-id", Hidden: true, Usage: "the submitted job's id"},
		}, append(tlsFlags(), logFlags("warn")...)...),
		Before: noArgs(globHint),
		Action: runAction,
	}
}

func runAction(c *cli.Context) (err error) {
	con := &console{out: os.Stderr} // progress.go
	log, err := consoleLogger(c, con)
	if err != nil {
		return usageErr(err)
	}
	secret, err := readSecret(c)
	if err != nil {
		return usageErr(err)
	}
	params, err := parseParams(c.StringSlice("param"))
	if err != nil {
		return usageErr(err)
	}
	kind := proto.KindBinary
	switch {
	case c.Bool("plugin") && c.Bool("exec"):
		return usageErr(fmt.Errorf("--plugin and --exec exclude each other: a plugin is an --app"))
	case c.Bool("plugin"):
		kind = proto.KindPlugin
	case c.Bool("exec"):
		kind = proto.KindExec
	}
	cfg := client.Config{
		App: c.String("app"), Kind: kind, Mapper: c.String("mapper"), Reducer: c.String("reducer"), Combiner: c.String("combiner"), Inputs: c.StringSlice("input"), Tasks: c.Int("tasks"), Output: c.String("output"), Files: c.StringSlice("file"),
		Overwrite: c.Bool("overwrite"), Reduces: c.Int("reduces"), TotalOrder: c.Bool("total-order"), Params: params,
		InputFormat: c.String("input-format"), MaxAttempts: c.Int("max-attempts"),
		TaskTimeout: c.Duration("task-timeout"), SplitSize: c.Int64("split-size"), SortBuffer: c.Int64("sort-buffer"),
		WorkerWait: c.Duration("worker-wait"), Secret: secret, Logger: log,
		NoSpeculation: !c.Bool("speculative"), NoEarlyReduces: !c.Bool("early-reduces"), KeepAlive: c.Duration("keepalive"),
	}
	if _, cfg.TLS, err = loadTLS(c); err != nil {
		return usageErr(err)
	}
	if err := checkReport(c.String("report")); err != nil {
		return usageErr(err)
	}
	detached := c.Bool("detach")
	if detached {
		if err := checkDetach(c, cfg); err != nil {
			return usageErr(err)
		}
	}
	quiet := c.Bool("quiet")
	watch := newWatcher(con, c.String("report"), c.IsSet("ui"))
	cfg.OnEvent = watch.event
	cfg.OnMaps = watch.setMaps
	var host *hostedJob
	if c.Bool("hosted") {
		if host, err = hostJob(c, &cfg, watch); err != nil {
			return err
		}
		defer host.Close()
		defer func() { host.failed(err) }() // unless it ended as a job
	}
	uiURL := ""
	if c.IsSet("ui") {
		ui, err := startUI(c.String("ui"), secret, watch)
		if err != nil {
			return usageErr(err)
		}
		defer ui.Close()
		uiURL = ui.Where()
		fmt.Fprintf(os.Stderr, "live view at %s\n", uiURL)
	}
	var zk *zkJob
	if c.IsSet("zk") && oneCluster(c) == nil {
		zk = openZK(c.Context, c.String("zk")) // while the job is prepared
		defer zk.Close()
	}
	job, err := client.Prepare(cfg)
	if host != nil && host.killed {
		return host.abandon(c.Context, job, err)
	}
	if errors.Is(err, client.ErrOutputBusy) {
		return cli.Exit(err.Error(), exitJobFailed) // not a usage error: another job is running
	}
	if err != nil {
		return usageErr(err)
	}
	if detached {
		return detach(c, job, zk)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := oneCluster(c); err != nil {
		return usageErr(err)
	}
	watch.begin(job, reportSettings(c), quiet)
	if host != nil {
		if err := host.begin(job, uiURL); err != nil {
			return cli.Exit(err.Error(), exitJobFailed)
		}
	}
	lister, cleanup, err := clusterFor(ctx, c, zk, log.With("job", job.ID()))
	if err != nil {
		watch.finish(c, job, nil, err)
		return cli.Exit(err.Error(), exitJobFailed)
	}
	defer cleanup()
	sum, err := job.Run(ctx, lister)
	watch.finish(c, job, sum, err)
	if host != nil {
		if herr := host.finish(sum, err); herr != nil {
			fmt.Fprintf(os.Stderr, "dist: %v\n", herr)
		}
	}
	if err != nil {
		return cli.Exit("job failed: "+err.Error(), exitJobFailed)
	}
	if quiet {
		fmt.Println(sum.Output)
		return nil
	}
	printSummary(sum)
	return nil
}

// oneCluster checks that exactly one of --local, --zk and --workers is
// set, and --local to a worker count, before the job header is printed.
func oneCluster(c *cli.Context) error {
	n := 0
	for _, f := range []string{"local", "zk", "workers"} {
		if c.IsSet(f) {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("say where the workers are with exactly one of --local N, --zk HOSTS or --workers ADDR,... (or DIST_LOCAL, DIST_ZK, DIST_WORKERS)")
	}
	if c.IsSet("local") && c.Int("local") < 1 {
		return fmt.Errorf("--local %d: start at least 1 local worker", c.Int("local"))
	}
	return nil
}

// clusterFor builds the registry --local, --zk or --workers names; for
// --zk it is zk, being opened.
func clusterFor(ctx context.Context, c *cli.Context, zk *zkJob, log *slog.Logger) (registry.Lister, func(), error) {
	switch {
	case c.IsSet("local"):
		var args []string
		if c.String("secret-file") != "" {
			args = append(args, "--secret-file", c.String("secret-file"))
		}
		args = append(args, tlsArgs(c)...)
		lc, err := client.StartLocal(ctx, client.LocalConfig{Workers: c.Int("local"), Slots: c.Int("local-slots"), Args: args})
		if err != nil {
			return nil, nil, err
		}
		log.Info("local cluster up", "workers", c.Int("local"))
		return lc.Registry, func() { lc.Close() }, nil
	case c.IsSet("zk"):
		return zk, zk.Close, nil
	default:
		addrs := strings.Split(c.String("workers"), ",")
		return registry.NewStatic(addrs), func() {}, nil
	}
}

func parseParams(kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

func printSummary(s *client.Summary) {
	for _, l := range summaryLines(s) {
		fmt.Println(l)
	}
}

// summaryLines are the summary dist run prints; a job master keeps them
// in the job's record for dist wait and dist status.
func summaryLines(s *client.Summary) []string {
	return []string{
		fmt.Sprintf("job %s succeeded in %v", s.Job, s.Wall.Round(time.Millisecond)),
		fmt.Sprintf("  maps %d, reduces %d, workers %d, attempts %d (failed %d, backups %d, killed %d, map re-runs %d)",
			s.Maps, s.Reduces, s.Workers, s.Attempts, s.Failed, s.Backups, s.Killed, s.MapReruns),
		fmt.Sprintf("  records in %d, records out %d, bytes shuffled %d, artifact bytes shipped %d",
			s.RecordsIn, s.RecordsOut, s.BytesShuffled, s.BytesShipped),
		fmt.Sprintf("  client data bytes: in %d, out %d", s.ClientDataIn, s.ClientDataOut),
		fmt.Sprintf("  output %s", s.Output),
	}
}
