package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/workerproc"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/worker"
	"github.com/distmr/dist/worker/master"
)

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run a worker daemon that executes shipped tasks",
		UsageText: `dist worker --listen 127.0.0.1:7070 --zk 127.0.0.1:2181 --slots 4 --dir /var/lib/dist
dist worker --listen 127.0.0.1:0 --dir /tmp/w1        # no registry: use dist run --workers ADDR
dist worker --zk 127.0.0.1:2181 --data-dir /var/log    # serve --input 'worker:nginx/*.log'`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:7070", EnvVars: []string{"DIST_LISTEN"}, Usage: "`ADDR` to listen on (port 0 picks a free port)"},
			&cli.StringFlag{Name: "advertise", EnvVars: []string{"DIST_ADVERTISE"}, Usage: "`ADDR` clients should dial (default: the listen address)"},
			&cli.StringFlag{Name: "zk", EnvVars: []string{"DIST_ZK"}, Usage: "register in ZooKeeper at `HOSTS[/chroot]`"},
			&cli.IntFlag{Name: "slots", EnvVars: []string{"DIST_SLOTS"}, Usage: "concurrent tasks (default: number of CPUs)"},
			&cli.StringFlag{Name: "dir", Value: "dist-worker", EnvVars: []string{"DIST_DIR"}, Usage: "work directory: artifact cache and task directories"},
			&cli.StringFlag{Name: "id", EnvVars: []string{"DIST_WORKER_ID"}, Usage: "worker id (default: host-port-random)"},
			&cli.StringFlag{Name: "data-dir", EnvVars: []string{"DIST_DATA_DIR"}, Usage: "serve the files under `DIR`, read only, as worker: inputs (--input 'worker:app/*.log'); none without it"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 60 * time.Second, EnvVars: []string{"DIST_SHUTDOWN_TIMEOUT"}, Usage: "how long shutdown may take in all (draining included)"},
			&cli.DurationFlag{Name: "drain-timeout", Value: worker.DefaultDrainTimeout, EnvVars: []string{"DIST_DRAIN_TIMEOUT"}, Usage: "on SIGTERM, refuse new tasks but serve the jobs using this worker (running tasks finish, map outputs stay available) until they end, at most this long"},
			&cli.StringFlag{Name: "cache-size", Value: sizeText(worker.DefaultCacheSize), EnvVars: []string{"DIST_CACHE_SIZE"}, Usage: "bound the artifact cache, least recently used out first (K, M, G suffixes; 0 = no bound)"},
			&cli.DurationFlag{Name: "keep-failed", Value: worker.DefaultKeepFailed, EnvVars: []string{"DIST_KEEP_FAILED"}, Usage: "keep failed attempts' logs, and succeeded ones' stderr tail, under DIR/failed this long for dist logs (0 = keep none)"},
			&cli.DurationFlag{Name: "keepalive", Value: proto.DefaultKeepAlive, EnvVars: []string{"DIST_KEEPALIVE"}, Usage: "ping sessions this often; a peer that stops answering is gone"},
			&cli.DurationFlag{Name: "zk-session-timeout", Value: registry.DefaultZKOptions().SessionTimeout, EnvVars: []string{"DIST_ZK_SESSION_TIMEOUT"}, Usage: "with --zk: the ZooKeeper session timeout; a worker that dies is noticed (its tasks run elsewhere, a job master it hosted is taken over) this long after (the server bounds it, 4s to 40s by default)"},
			&cli.IntFlag{Name: "masters", Value: master.DefaultSlots, EnvVars: []string{"DIST_MASTERS"}, Usage: "with --zk: host up to `N` detached jobs' masters at once (dist run --detach; 0 = none)"},
			&cli.DurationFlag{Name: "job-retention", Value: master.DefaultRetention, EnvVars: []string{"DIST_JOB_RETENTION"}, Usage: "delete the records of jobs that ended longer ago than this"},
			&cli.StringFlag{Name: "metrics-addr", EnvVars: []string{"DIST_METRICS_ADDR"}, Usage: "serve Prometheus /metrics and /healthz over HTTP on `ADDR` (e.g. 127.0.0.1:9170)"},
			secretFlag(),
		}, append(workerSecurityFlags(), logFlags("info")...)...),
		Before: noArgs(""),
		Action: workerAction,
	}
}

func workerAction(c *cli.Context) error {
	log, err := newLogger(c)
	if err != nil {
		return usageErr(err)
	}
	secret, err := readSecret(c)
	if err != nil {
		return usageErr(err)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := worker.DefaultConfig()
	cfg.Listen, cfg.Advertise, cfg.Dir, cfg.ID = c.String("listen"), c.String("advertise"), c.String("dir"), c.String("id")
	if c.IsSet("slots") {
		cfg.Slots = c.Int("slots")
	}
	cfg.Secret, cfg.Logger = secret, log
	cfg.DrainTimeout, cfg.KeepFailed, cfg.KeepAlive = c.Duration("drain-timeout"), c.Duration("keep-failed"), c.Duration("keepalive")
	cfg.MetricsAddr, cfg.DataDir = c.String("metrics-addr"), c.String("data-dir")
	cfg.ObjectStore = newS3Worker
	if cfg.CacheSize, err = parseSize(c.String("cache-size")); err != nil {
		return usageErr(fmt.Errorf("--cache-size: %w", err))
	}
	if err := applyWorkerSecurity(c, &cfg); err != nil {
		return usageErr(err)
	}
	// Checked here so that a bad flag is a usage error, found before
	// connecting to ZooKeeper; New checks it again for every caller.
	if err := cfg.Validate(); err != nil {
		return usageErr(err)
	}
	zkAuth, err := readZKAuth(c)
	if err != nil {
		return usageErr(err)
	}
	if c.IsSet("masters") && c.String("zk") == "" {
		return usageErr(fmt.Errorf("--masters needs --zk: job masters keep their jobs in ZooKeeper"))
	}
	var w *worker.Worker
	var host *master.Host
	if zkSpec := c.String("zk"); zkSpec != "" {
		zk, err := registry.NewZK(ctx, zkSpec, registry.ZKOptions{Logger: log, Auth: zkAuth, SessionTimeout: c.Duration("zk-session-timeout")})
		if err != nil {
			return cli.Exit(err.Error(), exitJobFailed)
		}
		defer zk.Close()
		cfg.Registrar = zk
		if c.Int("masters") > 0 {
			if host, err = newMasterHost(c, zk, cfg.Dir, func(sha string) (string, bool) { return w.CachedArtifact(sha) }, log); err != nil {
				return usageErr(err)
			}
			defer host.Close()
			cfg.JobHost = host
			cfg.MasterLog = host.MasterLog
		}
	}
	w, err = worker.New(cfg)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	if err := w.Start(ctx); err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	info := w.Info()
	log.Info("worker ready", "id", info.ID, "addr", info.Addr, "slots", info.Slots, "dir", cfg.Dir, "masters", info.Masters)
	fmt.Println(workerproc.ReadyLine(info.ID, info.Addr, w.MetricsAddr()))
	if host != nil {
		go func() {
			if err := host.Run(ctx, info); err != nil && !errors.Is(err, master.ErrClosed) {
				log.Error("job master host stopped: this worker takes no detached jobs over", "err", err)
			}
		}()
	}
	<-ctx.Done()
	log.Info("shutting down")
	if host != nil {
		host.Close() // its masters' jobs go to standbys elsewhere
	}
	fmt.Println(workerproc.DrainingLine(info.ID)) // for a --local cluster's registry
	sctx, cancel := context.WithTimeout(context.Background(), c.Duration("shutdown-timeout"))
	defer cancel()
	if err := w.Shutdown(sctx); err != nil {
		return cli.Exit("shutdown: "+err.Error(), exitJobFailed)
	}
	return nil
}

// newMasterHost builds the job master host of dist worker --masters N.
// Every master it starts gets the worker's --zk, --secret-file and TLS
// flags, as absolute paths.
func newMasterHost(c *cli.Context, zk *registry.ZK, dir string, cached func(string) (string, bool), log *slog.Logger) (*master.Host, error) {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	args := []string{"--zk", c.String("zk")}
	if f := c.String("secret-file"); f != "" {
		args = append(args, "--secret-file", abs(f))
	}
	if f := tlsFiles(c); !f.IsZero() {
		args = append(args, "--tls-cert", abs(f.Cert), "--tls-key", abs(f.Key), "--tls-ca", abs(f.CA))
	}
	return master.New(master.Config{
		ZK: zk, Slots: c.Int("masters"), Dir: filepath.Join(abs(dir), "masters"), Artifact: cached,
		BaseArgs: args, Retention: c.Duration("job-retention"), Logger: log.With("part", "masters"),
	})
}
