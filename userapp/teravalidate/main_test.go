package main

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// sorted is rows teragen-shaped records in order, with their count and
// checksum worked out here.
func sorted(rows int) (lines []string, checksum uint64) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range rows {
		key := make([]byte, 10)
		for j := range key {
			key[j] = byte('!' + rng.IntN(94))
		}
		lines = append(lines, fmt.Sprintf("%s\t%032X  %054X", key, i, i))
	}
	slices.Sort(lines)
	for _, l := range lines {
		checksum += uint64(crc32.ChecksumIEEE([]byte(l + "\n")))
	}
	return lines, checksum
}

// validate writes lines as parts of about equal size, the cut points
// after the lines numbered in cuts, and runs teravalidate over them in
// small splits.
func validate(t *testing.T, lines []string, cuts []int, params map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var inputs []string
	prev := 0
	for i, c := range append(cuts, len(lines)) {
		var b strings.Builder
		for _, l := range lines[prev:c] {
			b.WriteString(l + "\n")
		}
		prev = c
		path := filepath.Join(dir, fmt.Sprintf("part-%05d", i))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, path)
	}
	out := tasktest.Run(t, App, tasktest.Job{Inputs: inputs, Reduces: 1, SplitSize: 4 << 10, Params: params})
	return out.Parts[0]
}

func TestValidate(t *testing.T) {
	const rows = 600
	lines, sum := sorted(rows)
	cuts := []int{200, 400} // three parts
	params := map[string]string{"rows": strconv.Itoa(rows), "checksum": strconv.FormatUint(sum, 10)}
	ok := fmt.Sprintf("ok\t%d\t%d\n", rows, sum)
	if got := validate(t, lines, cuts, params); got != ok {
		t.Fatalf("sorted records: %q, want %q", got, ok)
	}
	if got := validate(t, lines, cuts, nil); got != ok {
		t.Fatalf("sorted records without params: %q, want %q", got, ok)
	}
	// A checksum may be given signed, as a counter past 2^63 prints.
	signed := map[string]string{"checksum": "-5"}
	if got, want := validate(t, lines, cuts, signed), fmt.Sprintf("checksum %d, teragen's is 18446744073709551611", sum); !strings.Contains(got, want) {
		t.Fatalf("checksum=-5: %q, want %q", got, want)
	}

	edit := func(f func(l []string) []string) []string { return f(slices.Clone(lines)) }
	for _, c := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"two lines swapped in a part", edit(func(l []string) []string { l[50], l[51] = l[51], l[50]; return l }),
			fmt.Sprintf("part-00000 byte %d: out of order: %q after", 51*100, lines[50][:43])},
		{"swapped across a split", edit(func(l []string) []string { l[40], l[41] = l[41], l[40]; return l }),
			fmt.Sprintf("part-00000 byte %d: out of order", 41*100)},
		{"swapped across parts", edit(func(l []string) []string { l[199], l[200] = l[200], l[199]; return l }),
			fmt.Sprintf("part-00001 byte 0: out of order across splits: %q after %q at ", lines[199][:43], lines[200][:43])},
		{"a record dropped", edit(func(l []string) []string { return slices.Delete(l, 300, 301) }),
			fmt.Sprintf("%d records, teragen wrote %d: records are missing or duplicated", rows-1, rows)},
		{"a record duplicated", edit(func(l []string) []string { return slices.Insert(l, 300, l[300]) }),
			fmt.Sprintf("%d records, teragen wrote %d", rows+1, rows)},
		{"a record replaced by its neighbour", edit(func(l []string) []string { l[301] = l[300]; return l }),
			"records are missing, duplicated or changed"},
		{"a line cut short", edit(func(l []string) []string { l[10] = l[10][:50]; return l }),
			"part-00000 byte 1000: "},
	} {
		got := validate(t, c.lines, cuts[:len(cuts):len(cuts)], params)
		if !strings.HasPrefix(got, "error\t") || !strings.Contains(got, c.want) || strings.Count(got, "\n") != 1 {
			t.Errorf("%s: %q, want one error line saying %q", c.name, got, c.want)
		}
	}
}

// Parts may be empty (a total-order job with a hot key leaves some so):
// they are skipped, and the order is checked from the part before to the
// one after.
func TestValidateEmptyParts(t *testing.T) {
	lines, sum := sorted(100)
	want := fmt.Sprintf("ok\t100\t%d\n", sum)
	if got := validate(t, lines, []int{0, 50, 50, 100}, nil); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	lines[49], lines[50] = lines[50], lines[49]
	if got := validate(t, lines, []int{0, 50, 50, 100}, nil); !strings.Contains(got, "part-00003 byte 0: out of order across splits") ||
		!strings.Contains(got, "part-00001 byte 4900\n") {
		t.Fatalf("%q, want the order checked from part 1 to part 3", got)
	}
}

func TestValidateUsage(t *testing.T) {
	for _, c := range []struct {
		reduces int
		params  map[string]string
		phase   task.Phase
		want    string
	}{
		{2, nil, task.PhaseMap, "this job has 2: run with --reduces 1"},
		{0, nil, task.PhaseMap, "this job has 0: run with --reduces 1"},
		{1, map[string]string{"checksum": "x"}, task.PhaseReduce, `param checksum="x" is not a 64-bit number`},
		{1, map[string]string{"rows": "x"}, task.PhaseReduce, `param rows="x" is not an integer`},
	} {
		cfg := spec.Config{Job: "j", Task: spec.TaskID(c.phase, 0), Phase: c.phase, Reduces: c.reduces, Params: c.params}
		if c.phase == task.PhaseMap {
			cfg.Split = spec.Split{File: spec.SplitFile, Name: "part-00000", Length: 2}
		}
		dir := tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte("x\n")})
		res, err := task.Run(App, dir)
		if err == nil || !res.Fatal || !strings.Contains(res.Error, c.want) {
			t.Errorf("%+v: result %+v, want a fatal error saying %q", c, res, c.want)
		}
	}
}
