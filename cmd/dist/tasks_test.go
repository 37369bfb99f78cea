package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// teraLine is one teragen record: 10 printable key bytes, TAB, the row
// id in 32 hex digits, two blanks, 54 hex digits of filler, newline.
var teraLine = regexp.MustCompile(`^[!-~]{10}\t[0-9A-F]{32}  [0-9A-F]{54}$`)

// readParts concatenates an output's parts in order.
func readParts(t *testing.T, dir string) []byte {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// dist run --tasks N runs N maps with no input: teragen over 3 tasks
// writes the same bytes as over 1, every line a record, rows in order.
func TestTasksTeragen(t *testing.T) {
	t.Parallel()
	const rows = 5000
	app := env.App(t, "teragen")
	three := filepath.Join(t.TempDir(), "three")
	r := mustRun(t, "run", "--local", "2", "--app", app, "--tasks", "3", "--param", "rows="+strconv.Itoa(rows),
		"--reduces", "0", "--output", three)
	assertCommitted(t, three, 3)
	if !strings.Contains(r.stdout, "maps 3, reduces 0") || !strings.Contains(r.stdout, "client data bytes: in 0,") {
		t.Errorf("summary does not show 3 maps and no input sent:\n%s", r.stdout)
	}
	taskEnv := withEnv(t, "DIST_TASKS=1") // the flag's environment twin
	one := filepath.Join(t.TempDir(), "one")
	mustRunBin(t, taskEnv, "run", "--local", "1", "--app", app, "--param", "rows="+strconv.Itoa(rows), "--reduces", "0", "--output", one)
	assertCommitted(t, one, 1)

	data := readParts(t, three)
	if !bytes.Equal(data, readParts(t, one)) {
		t.Fatal("teragen over 3 tasks wrote other bytes than over 1")
	}
	if len(data) != rows*100 {
		t.Fatalf("%d bytes, want %d records of 100", len(data), rows)
	}
	keys := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if len(line) != 99 || !teraLine.MatchString(line) {
			t.Fatalf("line %d is not a 100-byte record: %q", i, line)
		}
		if id, err := strconv.ParseUint(line[11:43], 16, 64); err != nil || id != uint64(i) {
			t.Fatalf("line %d has row id %s", i, line[11:43])
		}
		keys[line[:10]] = true
	}
	if len(keys) < rows-1 {
		t.Errorf("%d distinct keys in %d rows: keys are not random", len(keys), rows)
	}
}

// pi over 3 maps with no input: the totals are exact, the estimate near π.
func TestTasksPi(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "pi")
	mustRun(t, "run", "--local", "2", "--app", env.App(t, "pi"), "--tasks", "3", "--param", "samples=200000", "--output", out)
	assertCommitted(t, out, 1)
	b, err := os.ReadFile(filepath.Join(out, "part-00000"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		got[k] = v
	}
	inside, err1 := strconv.ParseFloat(got["inside"], 64)
	pi, err2 := strconv.ParseFloat(got["pi"], 64)
	if len(got) != 3 || got["total"] != "600000" || err1 != nil || err2 != nil {
		t.Fatalf("output %q, want inside, total 600000 and pi", b)
	}
	if math.Abs(pi-4*inside/600000) > 1e-9 || math.Abs(pi-math.Pi) > 0.01 {
		t.Fatalf("pi %v from %v of 600000 points inside: want 4·inside/total, within 0.01 of π", pi, inside)
	}
}

// --tasks and --input exclude each other, and a job needs one of them.
func TestTasksUsage(t *testing.T) {
	t.Parallel()
	app := env.App(t, "pi")
	out := filepath.Join(t.TempDir(), "out")
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tasks", "2", "--input", in}, "--input and --tasks exclude each other"},
		{nil, "--input is required: files or quoted globs to read (or --tasks N"},
		{[]string{"--tasks", "-1"}, "--tasks must be 1 or more"},
	} {
		r := dist(t, append([]string{"run", "--local", "1", "--app", app, "--output", out}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("dist run %v: exit %d, want 2 and %q:\n%s", c.args, r.code, c.want, r.stderr)
		}
	}
}
