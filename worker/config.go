package worker

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Defaults. withDefaults gives a zero field its default where zero means
// "the default". DrainTimeout, CacheSize and KeepFailed are different:
// zero turns the feature off (no drain, no bound, no kept logs), which is
// what a test or an embedded worker wants; DefaultConfig, and so dist
// worker, turns them on with the values here.
const (
	DefaultMaxArtifact   = 1 << 30
	DefaultMaxInput      = 1 << 30
	DefaultKillGrace     = 5 * time.Second
	DefaultOrphanGrace   = 5 * time.Minute
	DefaultFetchParallel = 5
	DefaultDrainTimeout  = 30 * time.Second
	DefaultCacheSize     = 4 << 30
	DefaultKeepFailed    = 24 * time.Hour
)

// Config configures a Worker. Listen and Dir are required; the zero value
// of every other field is usable, and each field says what its zero value
// means. DefaultConfig spells the defaults out.
type Config struct {
	// Listen is the TCP address to listen on, e.g. "127.0.0.1:0" or
	// ":7070". Required: "" is refused.
	Listen string
	// Advertise is the address published in the registry and in Info.
	// "" means the real listen address (with port 0, the port the kernel
	// chose; with an unspecified host such as ":7070", the host name).
	Advertise string
	// ID names the worker in the registry. "" means one is generated at
	// Start: "<hostname>-<port>-<4 random hex digits>". It must be a safe
	// name (spec.ValidName).
	ID string
	// Slots is how many task attempts may run at once (staging included);
	// a Launch beyond it is refused with a retryable "busy". 0 means
	// runtime.NumCPU().
	Slots int
	// Dir is the work directory: <Dir>/cache holds artifacts by sha256,
	// <Dir>/tasks/<job>/<task>-<attempt>/ each attempt's files. Required:
	// "" is refused; a relative path is made absolute by New.
	// A worker holds <Dir>/lock while it runs (a second one on the same
	// Dir fails to start with ErrDirInUse); Start kills the task processes
	// a previous worker that died left (recorded under <Dir>/run) and
	// removes what it left under <Dir>/tasks.
	Dir string
	// Secret is the shared cluster secret for the handshake; nil means no
	// authentication (the worker is flagged "insecure").
	Secret []byte
	// TLS, when non-nil, is the server config every accepted connection is
	// wrapped in. nil means plain TCP.
	TLS *tls.Config
	// TLSClient is the client config for fetching map outputs from peer
	// workers. nil means plain TCP; it must be set when TLS is.
	TLSClient *tls.Config
	// KeepAlive is the yamux ping interval for sessions; 0 means
	// proto.DefaultKeepAlive (10s).
	KeepAlive time.Duration
	// MaxArtifact bounds an uploaded artifact in bytes; 0 means
	// DefaultMaxArtifact (1 GiB).
	MaxArtifact int64
	// MaxInput bounds one input split (PutInput) in bytes; 0 means
	// DefaultMaxInput (1 GiB).
	MaxInput int64
	// KillGrace is how long a killed attempt's process group has between
	// SIGTERM and SIGKILL; 0 means DefaultKillGrace (5s).
	KillGrace time.Duration
	// OrphanGrace is how long a submitted job (its launches say Hosted)
	// keeps its finished map outputs here after its master's session
	// closed, for a master taking the job over (jobs.go); 0 means
	// DefaultOrphanGrace (5 minutes).
	OrphanGrace time.Duration
	// DrainTimeout bounds the drain Shutdown begins with (drain.go): new
	// work is refused while running attempts finish and finished map
	// outputs are served, until no job uses the worker; then what still
	// runs is killed. 0 means no drain: Shutdown kills at once.
	// DefaultConfig sets DefaultDrainTimeout (30s).
	DrainTimeout time.Duration
	// CacheSize bounds the artifact cache in bytes: past it, the least
	// recently used artifacts are removed. 0 means no bound. DefaultConfig
	// sets DefaultCacheSize (4 GiB).
	CacheSize int64
	// KeepFailed is how long the logs of failed attempts, and the tail of
	// succeeded attempts' stderr, are kept under <Dir>/failed after their
	// job ends (served by TaskLogs). 0 keeps none. DefaultConfig sets
	// DefaultKeepFailed (24h).
	KeepFailed time.Duration
	// MasterLog returns the log file of the job master this worker hosts
	// for job, served by TaskLogs as task "master"; ok is false when it
	// hosts none. nil: no master logs.
	MasterLog func(job string) (path string, ok bool)
	// FetchParallel bounds concurrent map output fetches per reduce
	// attempt; 0 means DefaultFetchParallel (5).
	FetchParallel int
	// Registrar, when non-nil, is told about the worker once it listens
	// and told to forget it first thing at Shutdown. nil means the worker
	// is not registered (static or local use).
	Registrar registry.Registrar
	// MetricsAddr, when set, is the TCP address of an HTTP server for
	// Prometheus (/metrics) and health checks (/healthz); see metrics.go.
	// "" means none. Port 0 picks a free port (Worker.MetricsAddr).
	MetricsAddr string
	// Logger receives the worker's logs; nil discards them.
	Logger *slog.Logger
	// HostBinary is the program that runs plugin and exec tasks as
	// `HostBinary task-host ...` (see host.go); it decides which plugins
	// this worker can load. "" means this process's own executable, which
	// is right for the dist binary.
	HostBinary string
	// DataDir, when set, is the directory whose files the worker serves as
	// worker: inputs (dist worker --data-dir), read only: a pattern names
	// files beneath it and nothing outside it is reachable, symlinks
	// included (data.go). "" means no worker: inputs: ListData is refused.
	// A relative path is made absolute by New.
	DataDir string
	// ObjectStore opens the worker's own client of the S3-compatible
	// store, with the worker's credentials; it is called once, at the
	// first s3:// input or output. nil means this worker reads and writes
	// no s3:// data: such a launch fails with a storage error.
	ObjectStore func() (ObjectStore, error)
	// JobHost, when set, runs detached jobs' masters (dist worker
	// --masters N): SubmitJob and KillJob go to it, and the worker
	// publishes its Slots as WorkerInfo.Masters. nil means the worker
	// hosts none and refuses both calls.
	JobHost JobHost
	// Security: who may connect, what a peer may send, what a task may
	// use (see security.go).
	Security
}

// DefaultConfig returns a Config with the defaults spelled out, including
// the drain, cache bound and kept logs that are off in a zero Config: the
// settings of dist worker without flags. Listen is a free loopback port;
// Dir is left empty: the caller must choose one.
func DefaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1:0",
		Slots:         runtime.NumCPU(),
		KeepAlive:     proto.DefaultKeepAlive,
		MaxArtifact:   DefaultMaxArtifact,
		MaxInput:      DefaultMaxInput,
		KillGrace:     DefaultKillGrace,
		FetchParallel: DefaultFetchParallel,
		DrainTimeout:  DefaultDrainTimeout,
		CacheSize:     DefaultCacheSize,
		KeepFailed:    DefaultKeepFailed,
	}
}

// Validate reports the first field that cannot work, naming the fix. It
// changes nothing: New fills in the defaults after it.
func (c Config) Validate() error {
	switch {
	case c.Listen == "":
		return fmt.Errorf("%w: no listen address: set --listen, e.g. 127.0.0.1:7070", ErrConfig)
	case c.Dir == "":
		return fmt.Errorf("%w: no work directory: set --dir", ErrConfig)
	case c.ID != "" && !spec.ValidName(c.ID):
		return fmt.Errorf("%w: worker id %q is not a safe name: use 1-128 characters of [A-Za-z0-9._-]", ErrConfig, c.ID)
	case c.Slots < 0:
		return fmt.Errorf("%w: slots is %d: use 0 (one per CPU) or more", ErrConfig, c.Slots)
	case c.MaxArtifact < 0, c.MaxInput < 0:
		return fmt.Errorf("%w: negative size limit", ErrConfig)
	case c.DrainTimeout < 0, c.KeepFailed < 0, c.CacheSize < 0:
		return fmt.Errorf("%w: drain timeout, kept-log time and cache size must not be negative", ErrConfig)
	case c.KillGrace < 0, c.KeepAlive < 0:
		return fmt.Errorf("%w: negative duration", ErrConfig)
	case c.FetchParallel < 0:
		return fmt.Errorf("%w: fetch parallelism is %d: use 0 (default) or more", ErrConfig, c.FetchParallel)
	case c.DataDir != "" && !isDir(c.DataDir):
		return fmt.Errorf("%w: --data-dir %s is not a directory: name the directory whose files worker: inputs read", ErrConfig, c.DataDir)
	case c.TLS != nil && c.TLSClient == nil:
		return fmt.Errorf("%w: TLS is set but TLSClient is not: peer workers serving map outputs need a client config", ErrConfig)
	}
	return validateSecurity(&c)
}

// withDefaults returns c with every zero field that means "the default"
// replaced by it, and Dir made absolute.
func (c Config) withDefaults() Config {
	if c.Slots == 0 {
		c.Slots = runtime.NumCPU()
	}
	if c.MaxArtifact == 0 {
		c.MaxArtifact = DefaultMaxArtifact
	}
	if c.MaxInput == 0 {
		c.MaxInput = DefaultMaxInput
	}
	if c.KillGrace == 0 {
		c.KillGrace = DefaultKillGrace
	}
	if c.OrphanGrace == 0 {
		c.OrphanGrace = DefaultOrphanGrace
	}
	if c.FetchParallel == 0 {
		c.FetchParallel = DefaultFetchParallel
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Security = c.Security.withDefaults()
	if abs, err := filepath.Abs(c.Dir); err == nil {
		c.Dir = abs
	}
	if c.DataDir != "" {
		if abs, err := filepath.Abs(c.DataDir); err == nil {
			c.DataDir = abs
		}
	}
	return c
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
