package zktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/logtail"
)

const (
	// readyTimeout bounds a start; a warm JVM serves in well under a
	// second, a cold CI machine may take several.
	readyTimeout = 60 * time.Second
	// pollInterval spaces readiness probes.
	pollInterval = 20 * time.Millisecond
	// portAttempts bounds retries when the chosen port was taken.
	portAttempts = 5
	// logTailLines is how much of the server log a failure shows.
	logTailLines = 40
)

// TickTime is the server's tick. Sessions may time out between
// MinSessionTimeout and MaxSessionTimeout; the server expires them at
// tick granularity.
const (
	TickTime          = 200 * time.Millisecond
	MinSessionTimeout = 2 * TickTime
	MaxSessionTimeout = 60 * time.Second
)

var errPortInUse = errors.New("port already in use")

// Server is a ZooKeeper server run by a test.
type Server struct {
	t    testing.TB
	inst install
	dir  string
	port int

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when Wait returned
	err    error         // Wait's error, set before exited closes
}

// Start starts a ZooKeeper server for the test and stops it when the test
// ends. It skips the test when ZooKeeper or java is missing (fails when
// CI=true).
func Start(t testing.TB) *Server {
	t.Helper()
	inst, err := findInstall()
	if err != nil {
		unavailable(t, err)
	}
	s := &Server{t: t, inst: inst, dir: t.TempDir()}
	if err := os.Mkdir(s.DataDir(), 0o755); err != nil {
		t.Fatalf("zktest: %v", err)
	}
	t.Cleanup(s.cleanup)
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("zktest: %v", err)
		}
		if err = s.writeConfig(); err != nil {
			t.Fatalf("zktest: %v", err)
		}
		err = s.launch()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			t.Fatalf("zktest: starting ZooKeeper (%s): %v", inst.from, err)
		}
		t.Logf("zktest: port %d was taken; trying another", s.port)
	}
}

// Addr is the server's client address, "127.0.0.1:<port>".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// DataDir is the server's dataDir; it survives Stop and Start.
func (s *Server) DataDir() string { return filepath.Join(s.dir, "data") }

// LogPath is the server's log, appended to by every run.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "zookeeper.log") }

// Running reports whether the server process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Stop kills the server (its whole process group) and waits for it to
// exit. Stopping a stopped server does nothing. Stop and Start are for
// the test's own goroutine.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	if err := kill(p.cmd.Process); err != nil {
		s.t.Errorf("zktest: killing ZooKeeper (pid %d): %v", p.cmd.Process.Pid, err)
	}
	<-p.exited
}

// Start starts a stopped server again on the same port and data: the
// sessions and nodes it had survive, as with a real restart.
func (s *Server) Start() {
	s.t.Helper()
	if s.Running() {
		s.t.Fatalf("zktest: Start: ZooKeeper at %s is already running", s.Addr())
	}
	if err := s.launch(); err != nil {
		s.t.Fatalf("zktest: restarting ZooKeeper at %s: %v", s.Addr(), err)
	}
}

func (s *Server) cleanup() {
	s.Stop()
	if s.t.Failed() {
		s.t.Logf("zktest: last lines of %s:\n%s", s.LogPath(), s.logTail())
	}
}

func (s *Server) writeConfig() error {
	cfg := strings.Join([]string{
		"tickTime=" + ms(TickTime),
		"minSessionTimeout=" + ms(MinSessionTimeout),
		"maxSessionTimeout=" + ms(MaxSessionTimeout),
		"dataDir=" + s.DataDir(),
		"clientPort=" + strconv.Itoa(s.port),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr,ruok,stat,cons,dump,mntr",
		"maxClientCnxns=0",
		// Flushed, not fsynced: a killed process loses nothing, only a
		// crashed machine would, and tests do not crash machines.
		"forceSync=no",
		"preAllocSize=1024",
		"",
	}, "\n")
	return os.WriteFile(s.configPath(), []byte(cfg), 0o644)
}

func (s *Server) configPath() string { return filepath.Join(s.dir, "zoo.cfg") }

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// launch starts the JVM and waits until it serves.
func (s *Server) launch() error {
	s.t.Helper()
	logf, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{
		"-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
		"-Xms32m", "-Xmx256m",
		"-Djava.net.preferIPv4Stack=true",
		"-Djava.io.tmpdir=" + s.dir,
		"-Dzookeeper.log.dir=" + s.dir,
		"-Dzookeeper.root.logger=INFO,CONSOLE",
		"-Dzookeeper.console.threshold=INFO",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		"-cp", strings.Join(s.inst.classpath, string(os.PathListSeparator)),
		"org.apache.zookeeper.server.ZooKeeperServerMain", s.configPath(),
	}
	cmd := exec.Command(s.inst.java, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	err = cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		return fmt.Errorf("running %s: %w", s.inst.java, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()

	if err := s.waitReady(p); err != nil {
		s.Stop()
		return err
	}
	s.t.Logf("zktest: ZooKeeper serving at %s after %v (dir %s)", s.Addr(), time.Since(began).Round(time.Millisecond), s.dir)
	return nil
}

// waitReady polls "srvr" until the server reports its mode.
func (s *Server) waitReady(p *process) error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out, err := FourLetter(ctx, s.Addr(), "srvr")
		cancel()
		if err == nil && strings.Contains(out, "Mode: ") {
			return nil
		}
		select {
		case <-p.exited:
			tail := s.logTail()
			if strings.Contains(tail, "Address already in use") {
				return fmt.Errorf("%w: %d", errPortInUse, s.port)
			}
			return fmt.Errorf("ZooKeeper exited (%v) before serving; %s ends:\n%s", p.err, s.LogPath(), tail)
		case <-deadline.C:
			return fmt.Errorf("ZooKeeper not serving at %s after %v; %s ends:\n%s", s.Addr(), readyTimeout, s.LogPath(), s.logTail())
		case <-tick.C:
		}
	}
}

// logTail returns the last lines of the server log.
func (s *Server) logTail() string { return logtail.Read(s.LogPath(), logTailLines) }

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// may take it before the server binds it; Start retries then.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
