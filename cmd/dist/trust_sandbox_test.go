package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// runAsBase returns a fresh directory every user can search, for workers
// started with --run-as nobody. It skips unless the test runs as root
// (in CI it fails instead: CI must run it).
func runAsBase(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("--run-as tests need root, and CI must run them")
		}
		t.Skip("--run-as needs the worker to run as root")
	}
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no user nobody to run tasks as")
	}
	base, err := os.MkdirTemp("", "dist-trust-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(base); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by others", d)
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// canary writes a root-only file (mode 0600) of random text under base.
func canary(t *testing.T, base string) (path, secret string) {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	secret = "CANARY-" + hex.EncodeToString(b)
	path = filepath.Join(base, "secret")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, secret
}

// noSecretIn fails the test if secret (or its CRC-32C, which gives away a
// short secret) appears in text.
func noSecretIn(t *testing.T, what, text, secret string) {
	t.Helper()
	sum := fmt.Sprintf("%08x", crc32.Checksum([]byte(secret+"\n"), crc32.MakeTable(crc32.Castagnoli)))
	if strings.Contains(text, secret) {
		t.Errorf("the root-only canary is in %s:\n%s", what, text)
	}
	if strings.Contains(text, sum) {
		t.Errorf("the canary's CRC-32C %s is in %s:\n%s", sum, what, text)
	}
}

// noSecretUnder fails the test if any file under dir holds secret or is
// a symlink (which an operator reading it would follow).
func noSecretUnder(t *testing.T, dir, secret string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			t.Errorf("%s is a symlink to %s", p, target)
		case d.Type().IsRegular():
			if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
				t.Errorf("%s holds the root-only canary", p)
			}
		}
		return nil
	})
}

// TestRunAsTaskCannotReadThroughSymlinks: a task run as nobody replaces
// the files the worker reads after it (stderr.log, its output, its map
// output) with symlinks to a root-only canary. The worker refuses to
// follow them, says so, and the canary reaches neither the client, nor the
// output, nor the worker's log or kept logs. The same cluster then runs
// the app honestly and gets the exact word counts.
func TestRunAsTaskCannotReadThroughSymlinks(t *testing.T) {
	t.Parallel()
	base := runAsBase(t)
	secretPath, secret := canary(t, base)
	var workers []*testenv.Worker
	for _, name := range []string{"w1", "w2"} {
		workers = append(workers, testenv.StartWorkerIn(t, env.Dist(t), filepath.Join(base, name),
			"--run-as", "nobody", "--slots", "2", "--keep-failed", "1h"))
	}
	addrs := workers[0].Addr + "," + workers[1].Addr
	app := env.Build(t, "./cmd/dist/testdata/hostile", false, "CGO_ENABLED=0")
	books := env.Corpus(t)[:2]
	run := func(t *testing.T, out string, params ...string) result {
		args := []string{"run", "--workers", addrs, "--app", app, "--output", out, "--reduces", "1",
			"--max-attempts", "2", "--quiet", "--param", "canary=" + secretPath}
		for _, b := range books {
			args = append(args, "--input", b)
		}
		for _, p := range params {
			args = append(args, "--param", p)
		}
		return dist(t, args...)
	}
	hostile := func(t *testing.T, mode, refusal string) {
		out := filepath.Join(t.TempDir(), "out")
		r := run(t, out, "mode="+mode)
		if r.code == 0 {
			t.Fatalf("a job whose task attacked with mode=%s passed:\n%s", mode, r.stderr)
		}
		t.Logf("dist run said:\n%s", r.stderr)
		if !strings.Contains(r.stderr, refusal) {
			t.Errorf("the failure does not say the worker refused %q:\n%s", refusal, r.stderr)
		}
		noSecretIn(t, "the client's output", r.stdout+r.stderr, secret)
		assertNothingCommitted(t, out)
		noSecretUnder(t, out, secret)
		for _, w := range workers {
			noSecretIn(t, "the worker's log", w.Logs(), secret)
			// Failed attempts' logs are kept once the job has ended.
			waitFor(t, 30*time.Second, "the failed attempts' logs to be kept", func() bool {
				_, err := os.Stat(filepath.Join(w.Dir, "tasks"))
				jobs, _ := filepath.Glob(filepath.Join(w.Dir, "tasks", "*"))
				return err == nil && len(jobs) == 0
			})
			noSecretUnder(t, filepath.Join(w.Dir, "failed"), secret)
		}
	}

	t.Run("stderr.log", func(t *testing.T) {
		hostile(t, "stderr-link", "left stderr.log as a symlink: refusing to follow it")
	})
	t.Run("output file", func(t *testing.T) {
		hostile(t, "output-link", "left out/part-00000 as a symlink: refusing to follow it")
	})
	t.Run("map output", func(t *testing.T) {
		hostile(t, "partition-link", "left out/map-00000 as a symlink: refusing to follow it")
	})
	t.Run("honest", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		if r := run(t, out); r.code != 0 {
			t.Fatalf("the honest job failed: exit %d\n%s", r.code, r.stderr)
		}
		assertCommitted(t, out, 1)
		checkWordCounts(t, out, books)
	})
}
