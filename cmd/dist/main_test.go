package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// env builds dist and the example apps once for every test in this package.
var env *testenv.Env

// parallel is how many tests run at once unless -test.parallel says: most
// tests here spend their time waiting (for workers, ZooKeeper, timeouts,
// stalls they inject), so more than GOMAXPROCS of them fit on 2 CPUs.
// Not more than 3: the other packages' tests run beside them in make
// test, and some of those wait on timeouts of their own (4 once starved
// a ZooKeeper client's reconnect in zktest).
const parallel = "3"

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", parallel); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	// Every dist a test starts is built with -race, which sleeps a second
	// before it exits; the tests start hundreds.
	if err := os.Setenv("GORACE", "atexit_sleep_ms=0"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var err error
	env, err = testenv.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// dist runs the dist binary with args and returns what it printed and its
// exit status.
func dist(t *testing.T, args ...string) result {
	t.Helper()
	return distBin(t, env.Dist(t), args...)
}

// distBin is dist with a chosen dist binary (or a script running one:
// withEnv).
func distBin(t *testing.T, bin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("dist %v: %v", args, err)
	}
	return r
}

// mustRun runs dist and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	return mustRunBin(t, env.Dist(t), args...)
}

// mustRunBin is mustRun with a chosen dist binary.
func mustRunBin(t *testing.T, bin string, args ...string) result {
	t.Helper()
	r := distBin(t, bin, args...)
	if r.code != 0 {
		t.Fatalf("dist %v exited %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// assertCommitted checks the output layout of a successful job: parts
// part-00000..part-(n-1), _SUCCESS, no _temporary.
func assertCommitted(t *testing.T, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("part-%05d", i))); err != nil {
			t.Fatalf("missing part %d: %v", i, err)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	if len(parts) != n {
		t.Fatalf("%d part files, want %d", len(parts), n)
	}
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err != nil {
		t.Fatalf("no _SUCCESS: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "_temporary")); !os.IsNotExist(err) {
		t.Fatalf("_temporary left behind (err %v)", err)
	}
}

// assertNothingCommitted checks a failed job left no _SUCCESS and no parts.
func assertNothingCommitted(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "_SUCCESS")); err == nil {
		t.Fatal("a failed job wrote _SUCCESS")
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "part-*")); len(parts) > 0 {
		t.Fatalf("a failed job left %v", parts)
	}
}

// withEnv returns a script that runs the dist binary with the environment
// variables vars (KEY=VALUE) added, for a test that cannot set them on its
// own process (t.Setenv) because it runs in parallel with others. The dist
// it runs, and every worker and task that dist starts, sees them. The
// script is written by a child process: a file this process held open for
// writing while it forked another child could not be executed (ETXTBSY)
// until that child had exec'd.
func withEnv(t *testing.T, vars ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec env")
	for _, v := range vars {
		b.WriteString(" '" + strings.ReplaceAll(v, "'", `'\''`) + "'")
	}
	b.WriteString(" '" + strings.ReplaceAll(env.Dist(t), "'", `'\''`) + `' "$@"` + "\n")
	path := filepath.Join(t.TempDir(), "dist")
	cmd := exec.Command("sh", "-c", `umask 077 && cat >"$1" && chmod u+x "$1"`, "sh", path)
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("writing %s: %v\n%s", path, err, out)
	}
	return path
}
