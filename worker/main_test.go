package worker

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// The test binary doubles as the shipped program: the worker starts it
// with DIST_TASK_DIR set (and nothing else of the test's environment), and
// then TestMain runs testApp with the real task runtime instead of the
// tests. testApp is word count; param "mode" picks misbehaviour, acted out
// on the first input record:
//
//	fail      "boom" on stderr, exit 3
//	hang      start a child that ignores SIGTERM, write both pids, block
//	stubborn  like hang, but the task itself ignores SIGTERM too
//	noresult  exit 0 without result.msgpack
//	badresult exit 0 with a malicious result.msgpack
//	sidefile  also count the words of the side file named by param "file"
//	echo      emit each record as it is read: key, then InputFile|value
//	env       emit each variable of the task's environment as a key
//	plant     replace out/part-00000 with a symlink to param "secret"
const envSleeper = "DIST_WORKER_TEST_SLEEPER"

func TestMain(m *testing.M) {
	SandboxMain() // when started as the --run-as shim
	if os.Getenv(envSleeper) != "" {
		signal.Ignore(syscall.SIGTERM)
		for {
			time.Sleep(time.Hour)
		}
	}
	if dir := os.Getenv(spec.EnvTaskDir); dir != "" {
		// What task.Main does, except that a success ends with
		// syscall.Exit: it skips the race detector's one-second sleep at
		// exit (GORACE atexit_sleep_ms), which the scrubbed task
		// environment cannot turn off.
		_ = os.WriteFile(filepath.Join(dir, spec.StartedFile), nil, 0o644)
		if _, err := task.Run(testApp, dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		syscall.Exit(0)
	}
	os.Exit(m.Run())
}

var testApp = task.App{
	Map: func(ctx *task.Context, key, value string, emit task.Emit) error {
		misbehave(ctx.Param("mode"))
		switch ctx.Param("mode") {
		case "echo":
			emit(key, ctx.InputFile()+"|"+value)
			return nil
		case "env":
			for _, kv := range os.Environ() {
				emit(kv, "")
			}
			return nil
		case "plant":
			dir := os.Getenv(spec.EnvTaskDir)
			part := filepath.Join(dir, spec.OutDir, spec.PartName(0))
			if _, err := os.Lstat(filepath.Join(dir, spec.OutDir, ".real")); err == nil {
				return nil // planted already
			}
			if err := os.Rename(part, filepath.Join(dir, spec.OutDir, ".real")); err != nil {
				return err
			}
			return os.Symlink(ctx.Param("secret"), part)
		}
		if ctx.Param("mode") == "sidefile" {
			b, err := readSideFile(ctx, ctx.Param("file"))
			if err != nil {
				return err
			}
			value += " " + string(b)
		}
		for _, w := range strings.Fields(value) {
			emit(w, "1")
		}
		return nil
	},
	Reduce: func(ctx *task.Context, key string, values task.Values, emit task.Emit) error {
		n := 0
		for range values {
			n++
		}
		emit(key, strconv.Itoa(n))
		return nil
	},
}

func readSideFile(ctx *task.Context, name string) ([]byte, error) {
	f, err := ctx.File(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func misbehave(mode string) {
	dir := os.Getenv(spec.EnvTaskDir)
	switch mode {
	case "fail":
		fmt.Fprintln(os.Stderr, "warming up")
		fmt.Fprintln(os.Stderr, "boom")
		os.Exit(3)
	case "hang", "stubborn":
		if mode == "stubborn" {
			signal.Ignore(syscall.SIGTERM)
		}
		if err := hang(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "slow": // runs normally once <dir>/go exists
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
				return
			}
			<-tick.C
		}
	case "chatty": // more stderr than TaskLogs serves, then a normal run
		for i := range 10000 {
			fmt.Fprintf(os.Stderr, "chatter line %05d\n", i)
		}
		fmt.Fprintln(os.Stderr, "chatty done")
	case "noresult":
		syscall.Exit(0)
	case "badresult": // 12 bytes declaring two billion outputs
		_ = os.WriteFile(filepath.Join(dir, spec.ResultFile), []byte("\x81\xa7outputs\xdd\x7f\xff\xff\x00"), 0o644)
		syscall.Exit(0)
	}
}

// hang starts a child that ignores SIGTERM, writes both pids to <dir>/pids
// and blocks forever.
func hang(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(self)
	child.Env = []string{envSleeper + "=1"}
	if err := child.Start(); err != nil {
		return err
	}
	pids := fmt.Sprintf("%d %d", os.Getpid(), child.Process.Pid)
	if err := os.WriteFile(filepath.Join(dir, "pids.tmp"), []byte(pids), 0o644); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(dir, "pids.tmp"), filepath.Join(dir, "pids")); err != nil {
		return err
	}
	for {
		time.Sleep(time.Hour)
	}
}

// pidsOf reads the pids a hanging test app wrote.
func pidsOf(dir string) ([]int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		return nil, false
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, false
		}
		pids = append(pids, n)
	}
	return pids, true
}
