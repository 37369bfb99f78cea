// Command hostile is a word count that attacks the worker running it, for
// the trust tests of cmd/dist. Param "mode" picks the attack, made in
// Setup; "canary" names a file the task's user must not read:
//
//	stderr-link     replace its stderr.log with a symlink to the canary, exit 1
//	output-link     (reduce) replace out/part-NNNNN with a symlink to the
//	                canary and report success without listing it
//	partition-link  (map) replace out/map-00000 with a symlink to the canary
//	                and report success listing it with the canary's size
//	hang            start a child (in the task's process group), write
//	                "<leader pid> <child pid>" to pids, block forever
//
// Without a mode it is an honest word count.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// envSleeper marks the child a hanging task starts.
const envSleeper = "HOSTILE_SLEEPER"

func main() {
	if os.Getenv(envSleeper) != "" {
		for {
			time.Sleep(time.Hour)
		}
	}
	task.Main(task.App{Setup: attack, Map: countWords, Reduce: sumCounts})
}

func attack(ctx *task.Context) error {
	dir := os.Getenv(spec.EnvTaskDir)
	canary := ctx.Param("canary")
	var err error
	switch ctx.Param("mode") {
	case "stderr-link":
		err = replaceWithLink(filepath.Join(dir, "stderr.log"), canary)
		if err == nil {
			os.Exit(1)
		}
	case "output-link":
		if ctx.Phase() == task.PhaseReduce {
			err = replaceWithLink(filepath.Join(dir, spec.OutDir, spec.PartName(ctx.Index())), canary)
			if err == nil {
				err = succeed(dir, nil)
			}
		}
	case "partition-link":
		if ctx.Phase() == task.PhaseMap {
			name := spec.MapPartName(0)
			err = replaceWithLink(filepath.Join(dir, spec.OutDir, name), canary)
			if err == nil {
				var size int64
				if fi, serr := os.Stat(canary); serr == nil {
					size = fi.Size()
				}
				err = succeed(dir, []spec.OutputFile{{Name: name, Partition: 0, Size: size}})
			}
		}
	case "hang":
		err = hang(dir)
	}
	return err
}

func replaceWithLink(path, target string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.Symlink(target, path)
}

// succeed writes a result saying the task succeeded with outputs, and
// exits before task.Main writes its own.
func succeed(dir string, outputs []spec.OutputFile) error {
	res := &spec.Result{Status: spec.StatusOK, Counters: map[string]int64{}, Outputs: outputs}
	if err := spec.WriteFile(filepath.Join(dir, spec.ResultFile), res); err != nil {
		return err
	}
	os.Exit(0)
	return nil
}

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

func countWords(_ *task.Context, _, line string, emit task.Emit) error {
	for _, w := range strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		emit(w, "1")
	}
	return nil
}

func sumCounts(_ *task.Context, word string, counts task.Values, emit task.Emit) error {
	var total int64
	for c := range counts {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return fmt.Errorf("count %q of word %q is not a number", c, word)
		}
		total += n
	}
	emit(word, strconv.FormatInt(total, 10))
	return nil
}
