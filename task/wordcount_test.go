package task_test

import (
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

func TestWordCountCorpus(t *testing.T) {
	files := corpus(t)
	want := countDirectly(t, files)
	for _, combine := range []bool{true, false} {
		out := tasktest.Run(t, wordCount(combine), tasktest.Job{Inputs: files, Reduces: 3, SplitSize: 256 << 10})
		sameCounts(t, parseCounts(t, out), want)
		checkMapOutputs(t, out)
		if got := out.Counter(spec.CounterReduceGroups); got != int64(len(want)) {
			t.Errorf("combine=%v: reduce.groups = %d, want %d", combine, got, len(want))
		}
	}
}

// TestWordCountTinySortBuffer forces hundreds of spills per map, and so
// merge passes, with and without Combine.
func TestWordCountTinySortBuffer(t *testing.T) {
	files := corpus(t)[:3]
	want := countDirectly(t, files)
	var outputRecords [2]int64
	for i, combine := range []bool{false, true} {
		out := tasktest.Run(t, wordCount(combine), tasktest.Job{Inputs: files, Reduces: 3, SortBuffer: 4 << 10})
		sameCounts(t, parseCounts(t, out), want)
		checkMapOutputs(t, out)
		outputRecords[i] = sumMapOutputRecords(out)
	}
	var words int64
	for _, n := range want {
		words += n
	}
	if outputRecords[0] != words {
		t.Errorf("without Combine the maps wrote %d records, want one per word: %d", outputRecords[0], words)
	}
	if outputRecords[1] >= outputRecords[0]/2 {
		t.Errorf("Combine did not shrink map output: %d records, %d without", outputRecords[1], outputRecords[0])
	}
}

func sumMapOutputRecords(out *tasktest.Output) int64 {
	var n int64
	for _, r := range out.Maps {
		for _, f := range r.Outputs {
			n += f.Records
		}
	}
	return n
}

// checkMapOutputs checks that each map wrote every partition file, sorted,
// described truthfully in its result, and left no spill files.
func checkMapOutputs(t *testing.T, out *tasktest.Output) {
	t.Helper()
	for i, dir := range out.MapDirs {
		res := out.Maps[i]
		if len(res.Outputs) != len(out.Reduces) {
			t.Fatalf("map %d wrote %d outputs, want %d", i, len(res.Outputs), len(out.Reduces))
		}
		for p, f := range res.Outputs {
			if f.Name != spec.MapPartName(p) || f.Partition != p {
				t.Fatalf("map %d output %d is %+v", i, p, f)
			}
			data, err := os.ReadFile(filepath.Join(dir, spec.OutDir, f.Name))
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(data)) != f.Size || crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)) != f.CRC32C {
				t.Fatalf("map %d %s: result says %d bytes crc %08x; file differs", i, f.Name, f.Size, f.CRC32C)
			}
			checkSorted(t, filepath.Join(dir, spec.OutDir, f.Name), f.Records)
		}
		if _, err := os.Stat(filepath.Join(dir, "spill")); !os.IsNotExist(err) {
			t.Errorf("map %d left its spill directory behind (%v)", i, err)
		}
	}
}

func checkSorted(t *testing.T, path string, records int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := recordio.NewReader(f)
	var prev string
	for {
		k, _, err := r.Next()
		if err != nil {
			break
		}
		if string(k) < prev {
			t.Fatalf("%s: key %q after %q", path, k, prev)
		}
		prev = string(k)
	}
	if r.Records() != records {
		t.Fatalf("%s holds %d records, result says %d", path, r.Records(), records)
	}
}
