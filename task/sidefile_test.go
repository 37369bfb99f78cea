package task_test

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// ctx.File opens a side file by base name; an unknown or unsafe name is a
// fatal error that says how to ship it.
func TestContextFile(t *testing.T) {
	var ctx *task.Context
	app := task.App{Setup: func(c *task.Context) error { ctx = c; return nil }}
	dir := mapTask(t, spec.Config{Reduces: 1}, "a line\n")
	if err := os.WriteFile(filepath.Join(dir, spec.FilesDir, "stop.txt"), []byte("the\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Run(app, dir); err != nil {
		t.Fatal(err)
	}
	f, err := ctx.File("stop.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != "the\n" {
		t.Fatalf("read %q, %v", b, err)
	}
	for name, want := range map[string]string{
		"missing.txt":     "no side file missing.txt: run with --file PATH/missing.txt",
		"../task.msgpack": "is opened by its base name",
	} {
		if _, err := ctx.File(name); err == nil || !errors.Is(err, task.ErrFatal) || !strings.Contains(err.Error(), want) {
			t.Errorf("File(%q) = %v, want a fatal error saying %q", name, err, want)
		}
	}
}

// A corrupt .gz input fails the task as fatal, naming the file once.
func TestCorruptInputIsFatal(t *testing.T) {
	var b strings.Builder
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(strings.Repeat("some words here\n", 1000)))
	zw.Close()
	data := b.String()[:b.Len()/2]
	dir := mapTask(t, spec.Config{Reduces: 1, Split: spec.Split{File: spec.SplitFile, Name: "in.txt.gz", Length: int64(len(data))}}, data)
	err := mustFail(t, wordCount(true), dir)
	res, rerr := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !res.Fatal || strings.Count(err.Error(), "in.txt.gz") != 1 || !strings.Contains(err.Error(), "corrupt or truncated gzip") {
		t.Fatalf("fatal %v, error %q", res.Fatal, err)
	}
}
