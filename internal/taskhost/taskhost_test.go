package taskhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distmr/dist/internal/gobuild"
	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

var (
	env     *testenv.Env
	buildMu sync.Mutex
	plugins = map[string]string{}
)

// envLoad makes the test binary load the plugin it names and print the
// error: each plugin gets a fresh process, as on a worker (a process
// loads a plugin path only once).
const envLoad = "DIST_TASKHOST_TEST_LOAD"

func TestMain(m *testing.M) {
	if path := os.Getenv(envLoad); path != "" {
		if _, err := LoadPlugin(path, ""); err != nil {
			fmt.Println(err)
		}
		os.Exit(0)
	}
	var err error
	if env, err = testenv.New(); err != nil {
		panic(err)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

// hostPlugin builds pkg, from the module at dir, as a plugin this test
// binary can load: the same toolchain and flags, found by gobuild.Self.
func hostPlugin(t *testing.T, dir, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := dir + " " + pkg
	if p, ok := plugins[key]; ok {
		return p
	}
	host, err := gobuild.Self()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(env.Dir, filepath.Base(pkg)+"-"+filepath.Base(dir)+".so")
	if _, err := gobuild.Build(context.Background(), gobuild.Options{Package: pkg, Output: out, Plugin: true, Host: host, Dir: dir, Stderr: io.Discard}); err != nil {
		t.Fatal(err)
	}
	plugins[key] = out
	return out
}

func TestLoadPlugin(t *testing.T) {
	app, err := LoadPlugin(hostPlugin(t, env.Root(), "./userapp/wordcount"), "")
	if err != nil {
		t.Fatal(err)
	}
	books := env.Corpus(t)[:2]
	out := tasktest.Run(t, app, tasktest.Job{Inputs: books, Reduces: 2})
	want := testenv.WordCounts(t, books)
	if got := len(out.Lines()); got != len(want) {
		t.Fatalf("plugin word count: %d words, want %d", got, len(want))
	}
}

func TestLoadChangedPlugin(t *testing.T) {
	// The same app against a copy of task with one more exported name: Go's
	// loader refuses it, and LoadPlugin says so in one line. (This test
	// binary is not built with -trimpath, so every package of the copy
	// differs from its own, and the loader names the first it checks.)
	dir := env.CopyModule(t)
	extra := "package task\n\n// Changed makes this copy of task differ.\nconst Changed = 1\n"
	if err := os.WriteFile(filepath.Join(dir, "task", "changed.go"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envLoad+"="+hostPlugin(t, dir, "./userapp/wordcount"))
	out, err := cmd.CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if err != nil || !strings.Contains(msg, "different version of package github.com/distmr/dist/") ||
		!strings.Contains(msg, "dist build --plugin") || strings.Contains(msg, "\n") {
		t.Fatalf("loading a plugin built against a changed task: %v\n%s", err, msg)
	}
}

func TestLoadNotAPlugin(t *testing.T) {
	_, err := LoadPlugin(env.App(t, "wordcount"), "wordcount")
	if !errors.Is(err, ErrBadPlugin) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v", err)
	}
}

func TestFailWritesFatalResult(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(spec.EnvTaskDir, dir)
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	code := Fail(errors.New("cannot load"))
	os.Stderr = stderr
	res, err := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if code != 1 || err != nil || res.Status != spec.StatusFailed || !res.Fatal || res.Error != "cannot load" {
		t.Fatalf("exit %d, result %+v, %v", code, res, err)
	}
}
