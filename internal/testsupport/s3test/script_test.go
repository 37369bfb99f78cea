package s3test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestS3LocalScript runs scripts/s3-local.sh start, status and stop the way
// a user does: eval the exports, use them with an S3 client, stop by pid.
func TestS3LocalScript(t *testing.T) {
	if _, err := findWeed(); err != nil {
		unavailable(t, err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed: scripts/s3-local.sh polls the store with it")
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "scripts", "s3-local.sh")
	// DIR relative to the working directory, as a user would give it.
	base := t.TempDir()
	dir := filepath.Join(base, "s3")
	run := func(arg string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", script, arg, "s3")
		cmd.Dir = base
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		t.Logf("s3-local.sh %s: stdout:\n%s\nstderr:\n%s", arg, out, stderr.Bytes())
		return string(out), err
	}
	t.Cleanup(func() { run("stop") }) // stops it if the test failed midway

	out, err := run("start")
	if err != nil {
		t.Fatalf("s3-local.sh start: %v", err)
	}
	env := parseExports(t, out)
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		if env[k] == "" {
			t.Fatalf("s3-local.sh start exported no %s:\n%s", k, out)
		}
	}
	c := clientFromEnv(t, env)
	roundTrip(t, c)

	if st, err := run("status"); err != nil || st != out {
		t.Fatalf("s3-local.sh status = %q, %v; want %q (start's exports)", st, err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "weed.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("weed.pid: %v", err)
	}
	if _, err := run("stop"); err != nil {
		t.Fatalf("s3-local.sh stop: %v", err)
	}
	// stop waited for the process; it is not ours, so init reaps it, and
	// that may lag a little behind.
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still exists after s3-local.sh stop", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = run("status")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("s3-local.sh status after stop: %v, want exit status 3", err)
	}
}

// parseExports reads `export K=V K=V` lines as a shell's eval would
// (the values have no quotes or spaces).
func parseExports(t *testing.T, out string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		words := strings.Fields(line)
		if len(words) < 2 || words[0] != "export" {
			t.Fatalf("s3-local.sh printed %q, want export lines", line)
		}
		for _, w := range words[1:] {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				t.Fatalf("s3-local.sh printed %q, want K=V", w)
			}
			env[k] = v
		}
	}
	return env
}
