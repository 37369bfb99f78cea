package worker

import (
	"log/slog"
	"os"
	"sync"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

// The task host runs the artifacts that are not task binaries. Go plugins
// and the commands of an exec job run under a program that links package
// task: by default the worker's own executable, in the hidden mode of
// `dist task-host` (package internal/taskhost):
//
//	dist task-host --plugin PATH [--name NAME]
//	dist task-host --exec [--mapper PATH --mapper-name NAME]
//	                      [--reducer PATH --reducer-name NAME]
//	                      [--combiner PATH --combiner-name NAME]
//
// The host is a fresh task process per attempt, in the task directory,
// with the task environment: the daemon itself never loads a plugin. What
// the host is (its Go version, build flags and package fingerprints) is
// read from its file once, and decides whether this worker can host
// plugins at all (a dist built with CGO_ENABLED=0 cannot) and which
// plugins it can load.

// hostCommand is the task-host subcommand of the host program.
const hostCommand = "task-host"

// maxPlugins bounds the inspected plugins remembered; past it they are
// forgotten and inspected again when next launched.
const maxPlugins = 256

// taskHost is the program that hosts plugin and exec tasks.
type taskHost struct {
	path string // "" until resolved
	log  *slog.Logger

	once sync.Once
	info *artifact.Info // nil when the host could not be inspected
	err  error

	mu      sync.Mutex
	plugins map[string]*artifact.Info // inspected plugins by sha256
}

func newTaskHost(path string, log *slog.Logger) *taskHost {
	return &taskHost{path: path, log: log, plugins: map[string]*artifact.Info{}}
}

// inspect reads the host program once.
func (h *taskHost) inspect() (*artifact.Info, error) {
	h.once.Do(func() {
		if h.path == "" {
			if h.path, h.err = os.Executable(); h.err != nil {
				return
			}
		}
		h.info, h.err = artifact.Inspect(h.path)
		if h.err != nil {
			h.log.Warn("cannot inspect the task host: plugin tasks are refused", "host", h.path, "err", h.err)
		}
	})
	return h.info, h.err
}

// program returns the host's path.
func (h *taskHost) program() (string, error) {
	if _, err := h.inspect(); err != nil && h.path == "" {
		return "", internalError("task host: %v", err)
	}
	return h.path, nil
}

// abi describes the host as a plugin host named name.
func (h *taskHost) abi(name string) artifact.Host {
	info, _ := h.inspect()
	return artifact.HostOf(name, info, proto.Version)
}

// flags are the WorkerInfo flags the host contributes.
func (h *taskHost) flags() []string {
	if !h.abi("").CanLoad() {
		return []string{"no-plugins"}
	}
	return nil
}

// published is what clients need to check plugins before shipping them:
// the host's build flags and the fingerprints a plugin may share with it.
// nil when the worker cannot host plugins.
func (h *taskHost) published() *registry.PluginABI {
	info, _ := h.inspect()
	a := artifact.HostOf("", info, proto.Version)
	if !a.CanLoad() {
		return nil
	}
	return &registry.PluginABI{GoVersion: a.GoVersion, Flags: a.Flags, Hashes: info.Go.SharedHashes()}
}

// plugin inspects a cached plugin once per sha256.
func (h *taskHost) plugin(sha, path string) (*artifact.Info, error) {
	h.mu.Lock()
	info := h.plugins[sha]
	h.mu.Unlock()
	if info != nil {
		return info, nil
	}
	info, err := artifact.Inspect(path)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if len(h.plugins) >= maxPlugins {
		clear(h.plugins)
	}
	h.plugins[sha] = info
	h.mu.Unlock()
	return info, nil
}

// refName names an artifact in messages and in the task host's arguments.
func refName(ref proto.ArtifactRef) string {
	if ref.Name != "" && len(ref.Name) <= 128 {
		return oneLine(ref.Name)
	}
	return ref.SHA256[:12]
}
