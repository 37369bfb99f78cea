package master

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The test binary is also the job master the tests' hosts start: with
// helperDir set it plays one (fakeMaster) instead of running the tests.
const (
	helperDir  = "DIST_MASTER_TEST_DIR"
	helperExit = "DIST_MASTER_TEST_EXIT" // set: exit at once, logging this
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDir); dir != "" {
		os.Exit(fakeMaster(dir, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeMaster records that it started (dir/<pid>.started holds its args,
// one a line), then waits for SIGTERM, which it records (dir/<pid>.term)
// before it exits as a master that ended its job as killed would not:
// leaving the record to its host.
func fakeMaster(dir string, args []string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	pid := os.Getpid()
	// Written whole under another name, then renamed: the test reads the
	// arguments as soon as the name appears.
	tmp := filepath.Join(dir, fmt.Sprintf("%d.tmp", pid))
	if err := os.WriteFile(tmp, []byte(strings.Join(args, "\n")), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("%d.started", pid))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if msg := os.Getenv(helperExit); msg != "" {
		fmt.Fprintln(os.Stderr, "starting")
		fmt.Fprintln(os.Stderr, msg)
		return 1
	}
	<-term
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.term", pid)), nil, 0o600)
	fmt.Fprintln(os.Stderr, "got SIGTERM")
	return 3
}
