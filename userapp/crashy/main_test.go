package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// The test binary doubles as the crashy program: with CRASHY_AS_PROGRAM
// set it runs main, so tests see real exit statuses.
func TestMain(m *testing.M) {
	if os.Getenv("CRASHY_AS_PROGRAM") != "" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// taskDir makes a one-line map task with params.
func taskDir(t *testing.T, attempt int, params map[string]string) string {
	t.Helper()
	cfg := spec.Config{Job: "job1", Task: "m-00002", Attempt: attempt, Phase: task.PhaseMap, Reduces: 1, Params: params,
		Split: spec.Split{File: spec.SplitFile, Name: "in.txt"}}
	return tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte("to be or not to be\n")})
}

func runProgram(t *testing.T, dir string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CRASHY_AS_PROGRAM=1", spec.EnvTaskDir+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

func TestExitAlwaysCrashes(t *testing.T) {
	for attempt := range 3 {
		dir := taskDir(t, attempt, map[string]string{"exit": "1"})
		code, stderr := runProgram(t, dir)
		want := "crashy: injected crash (task m-00002 attempt " + strconv.Itoa(attempt) + ")\n"
		if code != 3 || stderr != want {
			t.Fatalf("attempt %d: exit %d, stderr %q; want 3 and %q", attempt, code, stderr, want)
		}
		if _, err := os.Stat(filepath.Join(dir, spec.ResultFile)); !os.IsNotExist(err) {
			t.Errorf("a crashed attempt wrote a result (%v)", err)
		}
	}
}

func TestNoFaultsRunsLikeWordcount(t *testing.T) {
	dir := taskDir(t, 0, map[string]string{"exit": "0", "stall": "0"})
	if code, stderr := runProgram(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	res, err := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if err != nil || res.Status != spec.StatusOK || res.Outputs[0].Records != 4 {
		t.Fatalf("result %+v, %v", res, err)
	}

	path := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(path, []byte("To be, or not to be:\nthat is the question.\n"), 0o644)
	out := tasktest.Run(t, App, tasktest.Job{Inputs: []string{path}, Reduces: 2, Params: map[string]string{"exit": "0"}})
	got := strings.Join(out.Lines(), " ")
	for _, want := range []string{"be\t2", "is\t1", "not\t1", "or\t1", "question\t1", "that\t1", "the\t1", "to\t2"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q: %s", want, got)
		}
	}
}

func TestDrawsAreDeterministic(t *testing.T) {
	params := map[string]string{"exit": "0.5", "stall": "0.5", "stall_secs": "4", "seed": "7"}
	crashes, stalls := 0, 0
	for attempt := range 40 {
		ctx := contextFor(t, attempt, params)
		p1, err := planFor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p2, _ := planFor(contextFor(t, attempt, params))
		if p1 != p2 {
			t.Fatalf("attempt %d: plans differ: %+v vs %+v", attempt, p1, p2)
		}
		if p1.crash {
			crashes++
		}
		if p1.stall > 0 {
			stalls++
			if p1.stall < 2*time.Second || p1.stall > 4*time.Second {
				t.Errorf("stall %v outside [2s, 4s]", p1.stall)
			}
		}
	}
	if crashes < 8 || crashes > 32 || stalls < 8 || stalls > 32 {
		t.Errorf("with p=0.5 over 40 attempts: %d crashes, %d stalls", crashes, stalls)
	}
	other := map[string]string{"exit": "0.5", "seed": "8"}
	differs := false
	for attempt := range 40 {
		a, _ := planFor(contextFor(t, attempt, params))
		b, _ := planFor(contextFor(t, attempt, other))
		differs = differs || a.crash != b.crash
	}
	if !differs {
		t.Error("the seed param does not change the draws")
	}
}

func TestBadParams(t *testing.T) {
	for _, params := range []map[string]string{
		{"exit": "2"}, {"exit": "often"}, {"stall": "-0.1"}, {"stall_secs": "x"},
	} {
		if _, err := planFor(contextFor(t, 0, params)); err == nil || !strings.Contains(err.Error(), "param ") {
			t.Errorf("params %v: error %v", params, err)
		}
	}
}

// contextFor gets the Context a task with params would see, by running a
// Setup that hands it out.
func contextFor(t *testing.T, attempt int, params map[string]string) *task.Context {
	t.Helper()
	var ctx *task.Context
	app := task.App{Setup: func(c *task.Context) error { ctx = c; return nil }}
	if _, err := task.Run(app, taskDir(t, attempt, params)); err != nil {
		t.Fatal(err)
	}
	return ctx
}
