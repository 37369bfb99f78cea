package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/worker"
)

// Flags and helpers for authentication, TLS, ZooKeeper ACLs and the
// worker's limits, shared by the commands.

func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"DIST_TLS_CERT"}, Usage: "this node's TLS certificate `FILE` (PEM), signed by --tls-ca"},
		&cli.StringFlag{Name: "tls-key", EnvVars: []string{"DIST_TLS_KEY"}, Usage: "the private key `FILE` of --tls-cert (PEM)"},
		&cli.StringFlag{Name: "tls-ca", EnvVars: []string{"DIST_TLS_CA"}, Usage: "the cluster CA certificate `FILE` (PEM); peers must present certificates it signed (TLS 1.3, mutual)"},
	}
}

func tlsFiles(c *cli.Context) proto.TLSFiles {
	return proto.TLSFiles{Cert: c.String("tls-cert"), Key: c.String("tls-key"), CA: c.String("tls-ca")}
}

// loadTLS loads --tls-cert, --tls-key and --tls-ca; all nil when none is
// given.
func loadTLS(c *cli.Context) (server, client *tls.Config, err error) {
	f := tlsFiles(c)
	if f.IsZero() {
		return nil, nil, nil
	}
	return proto.LoadTLS(f)
}

// tlsArgs repeats the TLS flags for worker subprocesses (--local).
func tlsArgs(c *cli.Context) []string {
	f := tlsFiles(c)
	if f.IsZero() {
		return nil
	}
	return []string{"--tls-cert", f.Cert, "--tls-key", f.Key, "--tls-ca", f.CA}
}

func zkAuthFlag() cli.Flag {
	return &cli.StringFlag{Name: "zk-auth", EnvVars: []string{"DIST_ZK_AUTH"},
		Usage: "`FILE` holding user:password for ZooKeeper's digest scheme: only holders may create or delete worker nodes"}
}

// readZKAuth reads the --zk-auth file, if any.
func readZKAuth(c *cli.Context) (string, error) {
	path := c.String("zk-auth")
	if path == "" {
		return "", nil
	}
	b, err := readPrivate("--zk-auth", path)
	if err != nil {
		return "", err
	}
	auth := strings.TrimSpace(string(b))
	if u, p, ok := strings.Cut(auth, ":"); !ok || u == "" || p == "" {
		return "", fmt.Errorf("--zk-auth %s: the file must hold user:password", path)
	}
	return auth, nil
}

// readPrivate reads a file holding a credential, refusing one that every
// user of the machine can read.
func readPrivate(flag, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if fi.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("%s %s is readable by every user (mode %v): chmod o-r %s", flag, path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return b, nil
}

func workerSecurityFlags() []cli.Flag {
	return append(tlsFlags(),
		zkAuthFlag(),
		&cli.BoolFlag{Name: "insecure", EnvVars: []string{"DIST_INSECURE"},
			Usage: "allow listening beyond loopback without --secret-file or TLS: anyone who reaches the port can run programs here"},
		&cli.StringFlag{Name: "max-artifact", Value: sizeText(worker.DefaultMaxArtifact), EnvVars: []string{"DIST_MAX_ARTIFACT"}, Usage: "largest program accepted, in bytes (K, M, G suffixes)"},
		&cli.StringFlag{Name: "max-input", Value: sizeText(worker.DefaultMaxInput), EnvVars: []string{"DIST_MAX_INPUT"}, Usage: "largest input split accepted, in bytes (K, M, G suffixes)"},
		&cli.IntFlag{Name: "max-streams", Value: worker.DefaultMaxStreams, EnvVars: []string{"DIST_MAX_STREAMS"}, Usage: "calls one connection may have open at once"},
		&cli.DurationFlag{Name: "handshake-timeout", Value: proto.HandshakeTimeout, EnvVars: []string{"DIST_HANDSHAKE_TIMEOUT"}, Usage: "drop a connection that has not finished its handshake by then"},
		&cli.DurationFlag{Name: "idle-timeout", Value: worker.DefaultIdleTimeout, EnvVars: []string{"DIST_IDLE_TIMEOUT"}, Usage: "cut off an upload or download that makes no progress for this long"},
		&cli.Uint64Flag{Name: "task-max-files", Value: worker.DefaultTaskMaxFiles, EnvVars: []string{"DIST_TASK_MAX_FILES"}, Usage: "open files limit of each task (RLIMIT_NOFILE)"},
		&cli.Uint64Flag{Name: "task-max-procs", EnvVars: []string{"DIST_TASK_MAX_PROCS"}, Usage: "process and thread limit of the task user (RLIMIT_NPROC; default 4096 with --run-as, none without)"},
		&cli.StringFlag{Name: "run-as", EnvVars: []string{"DIST_RUN_AS"}, Usage: "run tasks as `USER` (the worker must run as root)"},
	)
}

// applyWorkerSecurity copies the security flags into cfg.
func applyWorkerSecurity(c *cli.Context, cfg *worker.Config) error {
	var err error
	if cfg.TLS, cfg.TLSClient, err = loadTLS(c); err != nil {
		return err
	}
	if cfg.MaxArtifact, err = parseSize(c.String("max-artifact")); err != nil {
		return fmt.Errorf("--max-artifact: %w", err)
	}
	if cfg.MaxInput, err = parseSize(c.String("max-input")); err != nil {
		return fmt.Errorf("--max-input: %w", err)
	}
	cfg.Insecure = c.Bool("insecure")
	cfg.MaxStreams = c.Int("max-streams")
	cfg.HandshakeTimeout = c.Duration("handshake-timeout")
	cfg.IdleTimeout = c.Duration("idle-timeout")
	cfg.TaskMaxFiles = c.Uint64("task-max-files")
	cfg.TaskMaxProcs = c.Uint64("task-max-procs")
	cfg.RunAs = c.String("run-as")
	return nil
}

// callerOptions are the options of a command that calls workers itself
// (dist workers, kill, logs): the cluster's secret and the TLS client
// side, from --secret-file and the TLS flags.
func callerOptions(c *cli.Context) (proto.Options, error) {
	secret, err := readSecret(c)
	if err != nil {
		return proto.Options{}, usageErr(err)
	}
	_, clientTLS, err := loadTLS(c)
	if err != nil {
		return proto.Options{}, usageErr(err)
	}
	return proto.Options{Secret: secret, TLS: clientTLS}, nil
}
