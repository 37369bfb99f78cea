package task_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

func TestReduceMergesAcrossInputs(t *testing.T) {
	dir := reduceTask(t, 1, [][]string{
		{"a", "1", "c", "1", "c", "2"},
		{},
		{"b", "1", "c", "3", "d", "1"},
	})
	app := task.App{Reduce: func(_ *task.Context, key string, values task.Values, emit task.Emit) error {
		var vs []string
		for v := range values {
			vs = append(vs, v)
		}
		emit(key, strings.Join(vs, ","))
		return nil
	}}
	res, err := task.Run(app, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readOut(t, dir, spec.PartName(0)), "a\t1\nb\t1\nc\t1,2,3\nd\t1\n"; got != want {
		t.Fatalf("got %q, want %q (keys sorted, values in input order)", got, want)
	}
	if res.Counters[spec.CounterInputRecords] != 6 || res.Counters[spec.CounterReduceGroups] != 4 || res.Counters[spec.CounterOutputRecords] != 4 {
		t.Errorf("counters %v", res.Counters)
	}
}

// TestReducePartialValues: a Reduce that stops early, or reads nothing,
// must not shift the next keys; an iterator kept past its call yields
// nothing and does not disturb the current key.
func TestReducePartialValues(t *testing.T) {
	var files [][]string
	for f := range 3 {
		var kvs []string
		for k := range 5 {
			for v := range 4 {
				kvs = append(kvs, fmt.Sprintf("key%d", k), fmt.Sprintf("f%d-v%d", f, v))
			}
		}
		files = append(files, kvs)
	}
	var stale task.Values
	app := task.App{Reduce: func(_ *task.Context, key string, values task.Values, emit task.Emit) error {
		if stale != nil {
			for v := range stale {
				return fmt.Errorf("stale iterator yielded %q during key %s", v, key)
			}
		}
		stale = values
		switch key {
		case "key1": // reads nothing
			emit(key, "none")
		case "key3": // reads two, in two ranges
			var got []string
			for v := range values {
				got = append(got, v)
				break
			}
			for v := range values {
				got = append(got, v)
				break
			}
			emit(key, strings.Join(got, ","))
		default:
			n := 0
			for range values {
				n++
			}
			emit(key, fmt.Sprint(n))
		}
		return nil
	}}
	dir := reduceTask(t, 1, files)
	if _, err := task.Run(app, dir); err != nil {
		t.Fatal(err)
	}
	want := "key0\t12\nkey1\tnone\nkey2\t12\nkey3\tf0-v0,f0-v1\nkey4\t12\n"
	if got := readOut(t, dir, spec.PartName(0)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	for range stale {
		t.Fatal("iterator yields after the task ended")
	}
}

func TestReduceError(t *testing.T) {
	app := task.App{Reduce: func(_ *task.Context, key string, _ task.Values, _ task.Emit) error {
		if key == "b" {
			return errors.New("bad key")
		}
		return nil
	}}
	err := mustFail(t, app, reduceTask(t, 1, [][]string{{"a", "1", "b", "2"}}))
	if err.Error() != `dist task r-00000: reduce: key "b": bad key` {
		t.Fatalf("got %q", err)
	}
}

func TestReduceInputUnsorted(t *testing.T) {
	err := mustFail(t, task.App{}, reduceTask(t, 1, [][]string{{"a", "", "b", ""}, {"b", "", "a", ""}}))
	if !errors.Is(err, task.ErrUnsorted) || !strings.Contains(err.Error(), "m-00001") {
		t.Fatalf("got %v", err)
	}
}

func TestReduceInputTruncated(t *testing.T) {
	dir := reduceTask(t, 1, [][]string{{"a", "1", "b", "2"}})
	path := filepath.Join(dir, spec.InDir, "m-00000")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	err = mustFail(t, task.App{}, dir)
	if !errors.Is(err, recordio.ErrTruncated) || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v", err)
	}
}

// TestReduceManyInputs merges more map outputs than one merge pass takes.
func TestReduceManyInputs(t *testing.T) {
	const maps, keys = 150, 40
	var files [][]string
	for m := range maps {
		var kvs []string
		for k := range keys {
			if (k+m)%3 != 0 {
				kvs = append(kvs, fmt.Sprintf("k%03d", k), fmt.Sprint(m))
			}
		}
		files = append(files, kvs)
	}
	app := task.App{Reduce: func(_ *task.Context, key string, values task.Values, emit task.Emit) error {
		n, last := 0, -1
		for v := range values {
			var m int
			fmt.Sscan(v, &m)
			if m <= last {
				return fmt.Errorf("values out of map order: %d after %d", m, last)
			}
			last = m
			n++
		}
		emit(key, fmt.Sprint(n))
		return nil
	}}
	dir := reduceTask(t, 1, files)
	if _, err := task.Run(app, dir); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for k := range keys {
		n := 0
		for m := range maps {
			if (k+m)%3 != 0 {
				n++
			}
		}
		fmt.Fprintf(&want, "k%03d\t%d\n", k, n)
	}
	if got := readOut(t, dir, spec.PartName(0)); got != want.String() {
		t.Fatalf("got\n%s\nwant\n%s", got, want.String())
	}
	if _, err := os.Stat(filepath.Join(dir, spec.InDir, "m-00000")); err != nil {
		t.Errorf("a merge pass deleted an input: %v", err)
	}
}
