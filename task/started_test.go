package task_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// TestMainMarksStarted: Main leaves spec.StartedFile in the task
// directory, even when the task then fails, and Run alone does not.
func TestMainMarksStarted(t *testing.T) {
	failing := task.App{Setup: func(*task.Context) error { return errors.New("no") }}
	dir := mapTask(t, spec.Config{Reduces: 1}, "a line\n")
	var stderr strings.Builder
	if code := task.MainStatus(failing, dir, &stderr); code != 1 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if _, err := os.Lstat(filepath.Join(dir, spec.StartedFile)); err != nil {
		t.Fatalf("Main left no %s: %v", spec.StartedFile, err)
	}
	dir = mapTask(t, spec.Config{Reduces: 1}, "a line\n")
	if _, err := task.Run(task.App{}, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, spec.StartedFile)); !os.IsNotExist(err) {
		t.Fatalf("Run made %s (%v): only Main marks a program as calling it", spec.StartedFile, err)
	}
}
