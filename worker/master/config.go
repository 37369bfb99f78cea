package master

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/distmr/dist/registry"
)

// Defaults.
const (
	DefaultSlots     = 1
	DefaultRetention = 7 * 24 * time.Hour
	// expireEvery is how often ended jobs older than Retention are
	// deleted; rescanEvery is how often the host looks again for jobs to
	// stand by for, besides each time its cache gains an artifact (Cached):
	// a job created while its watch was being set again.
	expireEvery = time.Hour
	rescanEvery = time.Minute
	// lookAgainAfter is how soon the host looks again after a job's
	// election was lost or could not be entered (Host.lookSoon).
	lookAgainAfter = 3 * time.Second
)

// Config configures a Host. ZK, Dir and Artifact are required.
type Config struct {
	// ZK holds the job records and elections.
	ZK *registry.ZK
	// Slots is how many masters the host runs at once; a Submit beyond
	// it is refused as busy. A standby that is elected runs its master
	// even beyond it: a job whose master died is never left without one.
	// 0 means DefaultSlots; dist worker builds no Host for --masters 0.
	Slots int
	// Dir is where the host pins each job's programs: Dir/<job>/app/NAME
	// (likewise mapper, reducer, combiner), Dir/<job>/files/NAME, and its
	// master's log, Dir/<job>/master.log. Required.
	Dir string
	// Artifact returns the path of the artifact with the given sha256 in
	// the worker's cache, if it holds it. Required.
	Artifact func(sha string) (path string, ok bool)
	// Command makes the master process for the given dist run arguments.
	// nil means this executable's `run ARGS...`. The host sets the
	// command's process attributes, output and cancellation.
	Command func(ctx context.Context, args []string) *exec.Cmd
	// BaseArgs are passed to every master before the job's own flags:
	// the worker's --zk, --secret-file and TLS flags.
	BaseArgs []string
	// Retention is how long ended jobs' records are kept; 0 means
	// DefaultRetention.
	Retention time.Duration
	// Logger receives the host's logs; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first field that cannot work.
func (c Config) Validate() error {
	switch {
	case c.ZK == nil:
		return errors.New("job masters need ZooKeeper: start the worker with --zk")
	case c.Dir == "":
		return errors.New("job master host: no Dir to pin programs in")
	case c.Artifact == nil:
		return errors.New("job master host: no artifact cache")
	case c.Slots < 0:
		return errors.New("--masters must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Slots == 0 {
		c.Slots = DefaultSlots
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Command == nil {
		c.Command = runSelf
	}
	return c
}

// runSelf runs this executable's `run ARGS...`.
func runSelf(ctx context.Context, args []string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.CommandContext(ctx, exe, append([]string{"run"}, args...)...)
}
