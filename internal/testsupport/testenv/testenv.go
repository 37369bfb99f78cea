// Package testenv builds the dist binary and example apps once per test
// process and starts real `dist worker` processes for end-to-end tests.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/workerproc"
)

// Env holds the binaries built for one test process.
type Env struct {
	Dir  string // scratch directory holding the binaries
	root string // repository root

	mu    sync.Mutex
	built map[string]string
}

// New creates an Env rooted at the repository holding this package. Call
// Close when the tests are done (from TestMain).
func New() (*Env, error) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	dir, err := os.MkdirTemp("", "dist-test-bin-")
	if err != nil {
		return nil, err
	}
	return &Env{Dir: dir, root: root, built: map[string]string{}}, nil
}

// Close removes the built binaries.
func (e *Env) Close() error { return os.RemoveAll(e.Dir) }

// Root is the repository root.
func (e *Env) Root() string { return e.root }

// Corpus returns the eight books in ../shared/corpus/gutenberg.
func (e *Env) Corpus(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(e.root, "..", "shared", "corpus", "gutenberg", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no books in ../shared/corpus/gutenberg beside the repository (err %v)", err)
	}
	return files
}

// Build compiles the main package pkg (relative to the repository root,
// e.g. "./userapp/wordcount") once and returns the binary's path. race
// builds it with the race detector.
func (e *Env) Build(t testing.TB, pkg string, race bool, env ...string) string {
	t.Helper()
	key := fmt.Sprint(pkg, race, env)
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.built[key]; ok {
		return p
	}
	out := filepath.Join(e.Dir, fmt.Sprintf("%s-%d", filepath.Base(pkg), len(e.built)))
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	} else {
		args = append(args, "-trimpath")
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	e.built[key] = out
	return out
}

// Dist builds the dist binary with the race detector.
func (e *Env) Dist(t testing.TB) string { return e.Build(t, "./cmd/dist", true) }

// App builds a static example app from userapp/<name>.
func (e *Env) App(t testing.TB, name string) string {
	return e.Build(t, "./userapp/"+name, false, "CGO_ENABLED=0")
}

// Worker is a `dist worker` process started by a test.
type Worker struct {
	ID, Addr string
	Metrics  string // the --metrics-addr address, when given
	Dir      string
	Log      string
	proc     *workerproc.Proc
}

// StartWorker starts `dist worker --listen 127.0.0.1:0` with extra args and
// waits for its ready line. The process is killed (by pid) at cleanup.
func StartWorker(t testing.TB, dist string, args ...string) *Worker {
	t.Helper()
	return StartWorkerIn(t, dist, filepath.Join(t.TempDir(), "work"), args...)
}

// StartWorkerIn is StartWorker with the worker's --dir chosen by the
// caller (e.g. one other users can search, for --run-as, or one shared
// with another worker).
func StartWorkerIn(t testing.TB, dist, workDir string, args ...string) *Worker {
	t.Helper()
	w := &Worker{Dir: workDir, Log: filepath.Join(t.TempDir(), "worker.log")}
	all := append([]string{"--listen", "127.0.0.1:0", "--dir", w.Dir, "--log-level", "debug"}, args...)
	p, err := workerproc.Start(context.Background(), workerproc.Config{
		Binary: dist, Args: all, Log: w.Log, ReadyTimeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("%v:\n%s", err, w.Logs())
	}
	w.ID, w.Addr, w.Metrics, w.proc = p.ID, p.Addr, p.Metrics, p
	t.Cleanup(func() { w.Kill(syscall.SIGKILL) })
	return w
}

// Pid is the worker's process id.
func (w *Worker) Pid() int { return w.proc.Pid() }

// Kill sends sig to the worker (SIGKILL to its whole process group: see
// workerproc.Proc.Signal) and, for SIGKILL, waits for it to exit.
func (w *Worker) Kill(sig syscall.Signal) {
	w.proc.Signal(sig)
	if sig == syscall.SIGKILL {
		<-w.proc.Exited()
	}
}

// Wait waits for the worker to exit, up to d; it reports whether it did.
func (w *Worker) Wait(d time.Duration) bool {
	select {
	case <-w.proc.Exited():
		return true
	case <-time.After(d):
		return false
	}
}

// Logs returns what the worker wrote to stderr.
func (w *Worker) Logs() string {
	b, _ := os.ReadFile(w.Log)
	return string(b)
}

// Listen opens a listener on a free loopback port, closed at cleanup.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
