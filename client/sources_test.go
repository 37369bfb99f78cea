package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage"
)

func TestPlanInputs(t *testing.T) {
	p, err := planInputs([]string{"a/*.txt", "s3://bkt/k/*.log", "worker:app/*.log", "b.txt", "s3://bkt/p/"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.local, " ") != "a/*.txt b.txt" || strings.Join(p.s3, " ") != "s3://bkt/k/*.log s3://bkt/p/" || strings.Join(p.worker, " ") != "app/*.log" {
		t.Fatalf("plan %+v", p)
	}
	for _, bad := range []string{"worker:", "worker:/etc/passwd", "worker:../x", "worker:app/../../x"} {
		_, err := planInputs([]string{bad})
		if !errors.Is(err, ErrNoInput) || !strings.Contains(err.Error(), "data dir") {
			t.Errorf("%s: %v, want a refusal naming the data dir", bad, err)
		}
	}
}

// rangeSplits cuts objects at plain multiples of the split size (the
// worker finds the lines), keeps compressed objects and wholefile input
// whole, and covers every byte exactly once.
func TestRangeSplits(t *testing.T) {
	objs := []storage.Object{
		{Name: "s3://b/a.txt", Kind: storage.S3, Size: 250},
		{Name: "s3://b/empty.txt", Kind: storage.S3, Size: 0},
		{Name: "s3://b/c.gz", Kind: storage.S3, Size: 1000},
		{Name: "s3://b/d.txt", Kind: storage.S3, Size: 100},
	}
	name := func(o storage.Object) string { return o.Name }
	got := rangeSplits(objs, 100, false, name)
	type r struct {
		name        string
		off, length int64
		lines       bool
	}
	want := []r{{"s3://b/a.txt", 0, 100, true}, {"s3://b/a.txt", 100, 100, true}, {"s3://b/a.txt", 200, 50, true},
		{"s3://b/empty.txt", 0, 0, false}, {"s3://b/c.gz", 0, 1000, false}, {"s3://b/d.txt", 0, 100, false}}
	if len(got) != len(want) {
		t.Fatalf("%d splits, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if (r{g.Name, g.Offset, g.Length, g.Lines}) != w {
			t.Errorf("split %d = %+v, want %+v", i, r{g.Name, g.Offset, g.Length, g.Lines}, w)
		}
	}
	if whole := rangeSplits(objs, 100, true, name); len(whole) != len(objs) {
		t.Errorf("wholefile: %d splits, want one per object", len(whole))
	}
}

func TestS3OutputURL(t *testing.T) {
	if u, err := s3OutputURL("s3://out/wc/"); err != nil || u != "s3://out/wc" {
		t.Errorf("s3://out/wc/ → %q, %v", u, err)
	}
	if _, err := s3OutputURL("s3://out"); !errors.Is(err, ErrOutputNotDir) {
		t.Errorf("a bucket without a prefix: %v", err)
	}
}
