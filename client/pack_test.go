package client

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/task/spec"
)

// objects lists files of kind on worker w with the given sizes, named
// f00, f01, ...
func objects(kind storage.Kind, w string, sizes ...int64) []storage.Object {
	var out []storage.Object
	for i, n := range sizes {
		out = append(out, storage.Object{Name: fmt.Sprintf("s3://b/%s/f%02d", w, i), Kind: kind, Size: n, Worker: w})
	}
	return out
}

func byName(o storage.Object) string { return o.Name }

// shape writes splits as sizes, a pack in brackets: "30 [30+30] 100".
func shape(splits []split) string {
	var parts []string
	for _, sp := range splits {
		if len(sp.Pieces) == 0 {
			parts = append(parts, fmt.Sprint(sp.Length))
			continue
		}
		var ps []string
		var total int64
		for _, p := range sp.Pieces {
			ps = append(ps, fmt.Sprint(p.Length))
			total += p.Length
		}
		if total != sp.Length {
			parts = append(parts, fmt.Sprintf("BAD LENGTH %d", sp.Length))
		}
		parts = append(parts, "["+strings.Join(ps, "+")+"]")
	}
	return strings.Join(parts, " ")
}

func TestPackSplits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int64
		want  string
	}{
		{"up to the split size", []int64{30, 30, 30, 30, 30, 30, 30}, "[30+30+30] [30+30+30] 30"},
		{"a file of exactly the split size stands alone", []int64{30, 100, 30, 30}, "30 100 [30+30]"},
		{"a full pack is closed by the next file", []int64{50, 50, 1, 0}, "[50+50] [1+0]"},
		{"empty files", []int64{0, 0, 0, 50, 0}, "[0+0+0+50+0]"},
		{"bigger files are cut in ranges, never packed", []int64{10, 250, 10, 10}, "10 100 100 50 [10+10]"},
		{"one file", []int64{10}, "10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			splits := rangeSplits(objects(storage.S3, "", tc.sizes...), 100, false, byName)
			if got := shape(packSplits(splits, 100, 0)); got != tc.want {
				t.Fatalf("sizes %v, split size 100: got %s, want %s", tc.sizes, got, tc.want)
			}
		})
	}
}

// Given the cluster's slots, packs are no bigger than an equal share of
// the small files per slot: packing never leaves a slot without a map.
func TestPackSplitsKeepsSlotsBusy(t *testing.T) {
	ten := []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}
	for _, tc := range []struct {
		sizes []int64
		slots int
		want  string
	}{
		{ten, 1, "[10+10+10+10+10+10+10+10+10+10]"},
		{ten, 2, "[10+10+10+10+10] [10+10+10+10+10]"},
		{ten, 3, "[10+10+10] [10+10+10] [10+10+10] 10"},
		{ten, 20, "10 10 10 10 10 10 10 10 10 10"},
		{[]int64{60, 10, 10, 10}, 2, "60 [10+10+10]"},
		{[]int64{0, 0, 0}, 2, "[0+0+0]"},
		{[]int64{10, 10, 250, 10, 10}, 1, "[10+10] 100 100 50 [10+10]"},
	} {
		splits := rangeSplits(objects(storage.S3, "", tc.sizes...), 100, false, byName)
		if got := shape(packSplits(splits, 100, tc.slots)); got != tc.want {
			t.Errorf("sizes %v on %d slots: got %s, want %s", tc.sizes, tc.slots, got, tc.want)
		}
	}
}

// Files of smallFile bytes or more keep a map each, as before packing,
// whatever the split size.
func TestPackSplitsOnlySmallFiles(t *testing.T) {
	splits := rangeSplits(objects(storage.S3, "", 10, smallFile, 10, smallFile-1), 64<<20, false, byName)
	want := fmt.Sprintf("10 %d [10+%d]", smallFile, smallFile-1)
	if got := shape(packSplits(splits, 64<<20, 0)); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// Pieces keep the listing order, and every file is in exactly one split.
func TestPackSplitsKeepsOrder(t *testing.T) {
	objs := objects(storage.S3, "", 40, 40, 40, 40, 40)
	var got []string
	for _, sp := range packSplits(rangeSplits(objs, 100, false, byName), 100, 0) {
		if sp.Pieces == nil {
			got = append(got, sp.Name)
		}
		for _, p := range sp.Pieces {
			got = append(got, p.Name)
		}
	}
	var want []string
	for _, o := range objs {
		want = append(want, o.Name)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files in split order %v, want the listing order %v", got, want)
	}
}

// A pack holds one worker's files only: the map runs where they are.
func TestPackSplitsByWorker(t *testing.T) {
	objs := append(objects(storage.Worker, "w1", 10, 10, 10), objects(storage.Worker, "w2", 10, 10)...)
	splits := packSplits(rangeSplits(objs, 100, false, byName), 100, 0)
	if got := shape(splits); got != "[10+10+10] [10+10]" {
		t.Fatalf("got %s, want one pack per worker", got)
	}
	for i, w := range []string{"w1", "w2"} {
		if splits[i].Obj.Worker != w || splits[i].Obj.Kind != storage.Worker {
			t.Errorf("pack %d is on %q (%s), want %s", i, splits[i].Obj.Worker, splits[i].Obj.Kind, w)
		}
		for _, p := range splits[i].Pieces {
			if p.Obj.Worker != w {
				t.Errorf("pack %d on %s holds %s of worker %s", i, w, p.Name, p.Obj.Worker)
			}
		}
	}
}

// Files of different kinds never share a split.
func TestPackSplitsByKind(t *testing.T) {
	splits := rangeSplits(objects(storage.S3, "", 10, 10), 100, false, byName)
	splits = append(splits, rangeSplits(objects(storage.Local, "", 10, 10), 100, false, byName)...)
	if got := shape(packSplits(splits, 100, 0)); got != "[10+10] [10+10]" {
		t.Fatalf("got %s, want a pack per kind", got)
	}
}

// A pack stays within the bounds of a launch request: spec.MaxPieces
// files and spec.MaxPieceNames bytes of names.
func TestPackSplitsBounds(t *testing.T) {
	sizes := make([]int64, 2*spec.MaxPieces+1)
	splits := packSplits(rangeSplits(objects(storage.S3, "", sizes...), 100, false, byName), 100, 0)
	if len(splits) != 3 || len(splits[0].Pieces) != spec.MaxPieces || splits[2].Pieces != nil {
		t.Fatalf("%d empty files packed as %d splits (first of %d files), want two of %d and one plain", len(sizes), len(splits), len(splits[0].Pieces), spec.MaxPieces)
	}

	long := []storage.Object{}
	name := strings.Repeat("n", 4000)
	for i := range 100 {
		long = append(long, storage.Object{Name: fmt.Sprintf("s3://b/%s%03d", name, i), Kind: storage.S3, Size: 1})
	}
	for _, sp := range packSplits(rangeSplits(long, 100, false, byName), 100, 0) {
		n := 0
		for _, p := range sp.Pieces {
			n += len(p.Name)
		}
		if n > spec.MaxPieceNames {
			t.Fatalf("a pack names %d bytes of files, over spec.MaxPieceNames (%d)", n, spec.MaxPieceNames)
		}
	}
}

// Local files: small ones packed, a big one cut at line ends as before,
// in listing order.
func TestPackLocalSplits(t *testing.T) {
	dir := t.TempDir()
	line := strings.Repeat("x", 9) + "\n"
	writeFile(t, filepath.Join(dir, "a"), strings.Repeat(line, 2))
	writeFile(t, filepath.Join(dir, "b"), strings.Repeat(line, 25))
	writeFile(t, filepath.Join(dir, "c"), strings.Repeat(line, 3))
	writeFile(t, filepath.Join(dir, "d"), "")
	writeFile(t, filepath.Join(dir, "e"), strings.Repeat(line, 10))
	splits, err := localSplits(t, []string{dir}, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	splits = packSplits(splits, 100, 0)
	if got := shape(splits); got != "20 100 100 50 [30+0] 100" {
		t.Fatalf("got %s", got)
	}
	p := splits[4].Pieces
	if p[0].Path != filepath.Join(dir, "c") || p[1].Name != filepath.Join(dir, "d") || splits[4].Obj.Kind != storage.Local {
		t.Fatalf("pack of %s and %s (%s), want c and d, local", p[0].Path, p[1].Name, splits[4].Obj.Kind)
	}
}
