package main

// Issue 10 items 1, 12, 13 and 16: the command line refuses what it would
// otherwise ignore, exits as the help promises, says why workers refused
// a client, and prints each failure once with plurals and counts right.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/registry"
)

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestStrayArgumentsRefused is an unquoted --input glob that the shell
// expanded: every file after the first is a positional argument, which
// dist used to ignore (a wrong answer with exit status 0) or, with
// --output after them, blame on a missing --output.
func TestStrayArgumentsRefused(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)[:3]
	app := env.App(t, "wordcount")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"output before the glob", []string{"--output", "OUT", "--input", books[0], books[1], books[2]}},
		{"output after the glob", []string{"--input", books[0], books[1], books[2], "--output", "OUT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := []string{"run", "--local", "2", "--app", app}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "OUT", out))
			}
			r := dist(t, args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2 (usage)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range []string{`"` + books[1] + `"`, "quote", "repeat --input"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "--output is required") || strings.Contains(r.stderr, "job j") {
				t.Errorf("stderr blames --output or started a job:\n%s", r.stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("the refused job touched its output (err %v)", err)
			}
		})
	}
	// What the message says to do instead reads every file.
	t.Run("repeated --input", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		mustRun(t, "run", "--local", "2", "--app", app, "--output", out,
			"--input", books[0], "--input", books[1], "--input", books[2])
		checkWordCounts(t, out, books)
	})
	t.Run("other commands", func(t *testing.T) {
		// Addresses nothing serves, so that a worker that started anyway
		// fails at once instead of running.
		for _, args := range [][]string{
			{"workers", "stray", "--zk", "127.0.0.1:1"},
			{"worker", "stray", "--listen", "256.0.0.1:0", "--dir", t.TempDir()},
			{"version", "stray"},
		} {
			r := dist(t, args...)
			if r.code != 2 || !strings.Contains(r.stderr, `takes no arguments, got "stray"`) {
				t.Errorf("dist %v: exit %d, stderr:\n%s", args, r.code, r.stderr)
			}
		}
	})
}

// TestExitCodes checks usage errors exit 2 before anything starts, as the
// help and README promise.
func TestExitCodes(t *testing.T) {
	t.Setenv("DIST_ZK", "") // restored at the end,
	os.Unsetenv("DIST_ZK")  // unset until then
	books := env.Corpus(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown command", []string{"bogus"}, []string{`unknown command "bogus"`}},
		{"misspelled command", []string{"wokers"}, []string{`did you mean "workers"?`}},
		{"help for an unknown command", []string{"help", "bogus"}, []string{"bogus"}},
		{"--local 0", []string{"run", "--local", "0", "--app", env.App(t, "wordcount"),
			"--input", books[0], "--output", filepath.Join(t.TempDir(), "out")}, []string{"--local 0", "at least 1"}},
		{"workers without --zk", []string{"workers"}, []string{"--zk", "DIST_ZK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dist(t, tc.args...)
			if r.code != 2 {
				t.Fatalf("dist %v: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", tc.args, r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "job j") {
				t.Errorf("a job started:\n%s", r.stderr)
			}
		})
	}
}

// TestUnknownFlagSuggestion checks a misspelled flag of a command is
// named with the nearest one, and a far-off one is not matched to any.
func TestUnknownFlagSuggestion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--inptu", "x", "--local", "1"}, "unknown flag --inptu: did you mean --input?"},
		{[]string{"run", "--out", "x"}, "unknown flag --out: did you mean --output?"},
		{[]string{"workers", "--zkk", "x"}, "unknown flag --zkk: did you mean --zk?"},
		{[]string{"worker", "--slot", "2"}, "unknown flag --slot: did you mean --slots?"},
		{[]string{"run", "--xyzzy"}, "unknown flag --xyzzy (dist run --help lists the flags)"},
	} {
		r := dist(t, tc.args...)
		if r.code != 2 || lastLine(r.stderr) != "dist: "+tc.want {
			t.Errorf("dist %v: exit %d, stderr:\n%s\nwant exit 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestWrongSecretSaysAuthentication runs jobs against real workers that
// hold a secret, with no secret and with another one: the job's last line
// names the authentication failure and --secret-file (it used to say only
// "no usable workers: 3 known, all lost or failing"), and `dist workers`
// says why it cannot show what the workers run.
func TestWrongSecretSaysAuthentication(t *testing.T) {
	t.Parallel()
	zk := zktest.Start(t)
	secret := writeSecret(t, "trust-cli-cluster-secret-0123")
	wrong := writeSecret(t, "not-the-cluster-secret-456789")
	var workers []*testenv.Worker
	for i := 0; i < 3; i++ {
		workers = append(workers, testenv.StartWorker(t, env.Dist(t), "--zk", zk.Addr(), "--slots", "2", "--secret-file", secret))
	}
	waitWorkers(t, zk.Addr(), func(ws []registry.WorkerInfo) bool { return len(ws) == 3 })
	books := env.Corpus(t)[:3]
	run := func(cluster []string, extra ...string) (result, string) {
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"run", "--app", env.App(t, "wordcount"), "--output", out, "--reduces", "2", "--worker-wait", "5s"}
		for _, b := range books {
			args = append(args, "--input", b)
		}
		args = append(args, cluster...)
		return dist(t, append(args, extra...)...), out
	}
	zkArgs := []string{"--zk", zk.Addr()}
	addrs := []string{"--workers", workers[0].Addr + "," + workers[1].Addr + "," + workers[2].Addr}

	for _, tc := range []struct {
		name    string
		cluster []string
		secret  []string
	}{
		{"no secret, ZooKeeper", zkArgs, nil},
		{"wrong secret, ZooKeeper", zkArgs, []string{"--secret-file", wrong}},
		{"wrong secret, --workers", addrs, []string{"--secret-file", wrong}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, out := run(tc.cluster, tc.secret...)
			last := lastLine(r.stderr)
			if r.code != 1 || !strings.Contains(last, "authentication failed") || !strings.Contains(last, "--secret-file") {
				t.Fatalf("exit %d, last line %q, want 1 and a line naming the authentication failure and --secret-file\nstderr:\n%s",
					r.code, last, r.stderr)
			}
			assertNothingCommitted(t, out)
		})
	}
	t.Run("right secret", func(t *testing.T) {
		r, out := run(zkArgs, "--secret-file", secret)
		if r.code != 0 {
			t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		assertCommitted(t, out, 2)
		checkWordCounts(t, out, books)
	})

	t.Run("dist workers with the wrong secret", func(t *testing.T) {
		r := dist(t, "workers", "--zk", zk.Addr(), "--secret-file", wrong)
		if r.code != 1 {
			t.Errorf("exit %d, want 1: no worker could be asked", r.code)
		}
		for _, want := range []string{"3 of 3 workers", "authentication failed", "--secret-file or DIST_SECRET_FILE"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, r.stderr)
			}
		}
		for _, w := range workers { // the listing is still there
			if !strings.Contains(r.stdout, w.ID) {
				t.Errorf("stdout does not list %s:\n%s", w.ID, r.stdout)
			}
		}
	})
	t.Run("dist workers without a secret", func(t *testing.T) {
		r := dist(t, "workers", "--zk", zk.Addr())
		if r.code != 1 || !strings.Contains(r.stderr, "authentication failed") || !strings.Contains(r.stderr, "DIST_SECRET_FILE") {
			t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("dist workers with the secret", func(t *testing.T) {
		r := mustRun(t, "workers", "--zk", zk.Addr(), "--secret-file", secret)
		if r.stderr != "" || strings.Contains(r.stdout, "?") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	})
}

// TestProgressSaysEachFailureOnce runs a job whose first attempts of two
// maps crash, with stderr not a terminal (plain progress lines): each
// failure is one line, the header's plurals are right, and the last
// status line counts the workers the summary counts.
func TestProgressSaysEachFailureOnce(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--local", "2", "--app", env.App(t, "crashy"), "--param", "exit=1", "--param", "only=^m-0000[01]/0$",
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "1")
	checkWordCounts(t, out, books)
	for _, m := range []string{"m-00000", "m-00001"} {
		if n := strings.Count(r.stderr, m+" attempt 0 failed"); n != 1 {
			t.Errorf("%s's failure is said %d times, want once:\n%s", m, n, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "level=WARN") {
		t.Errorf("the log repeats a failure the progress lines show:\n%s", r.stderr)
	}
	if !regexp.MustCompile(`job \S+: 8 maps, 1 reduce\n`).MatchString(r.stderr) {
		t.Errorf("header is not \"8 maps, 1 reduce\":\n%s", r.stderr)
	}
	summary := regexp.MustCompile(`workers (\d+), attempts`).FindStringSubmatch(r.stdout)
	if summary == nil {
		t.Fatalf("no worker count in the summary:\n%s", r.stdout)
	}
	last := lastLine(r.stderr)
	if !strings.Contains(last, "maps 8/8, reduces 1/1") || !strings.Contains(last, "  workers "+summary[1]+"  retries 2") {
		t.Errorf("last status line %q, want it to count the summary's %s workers and 2 retries", last, summary[1])
	}
}
