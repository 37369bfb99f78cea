package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/task/tasktest"
)

// The part is the input's records in byte order of the whole line: keys
// drawn from two letters tie often, and the rest breaks the ties.
func TestTerasort(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var all, inputs []string
	for f := range 2 {
		var b strings.Builder
		for i := range 1500 {
			line := record(rng, f*1500+i)
			if i%50 == 0 && len(all) > 0 {
				line = all[rng.IntN(len(all))] // a duplicate record, kept twice
			}
			all = append(all, line)
			b.WriteString(line + "\n")
		}
		path := filepath.Join(dir, fmt.Sprintf("part-%05d", f))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, path)
	}
	out := tasktest.Run(t, App, tasktest.Job{Inputs: inputs, Reduces: 1, SplitSize: 20 << 10, SortBuffer: 16 << 10})
	slices.Sort(all)
	if want := strings.Join(all, "\n") + "\n"; out.Parts[0] != want {
		t.Fatalf("the part (%d bytes) is not the input's records sorted (%d bytes)", len(out.Parts[0]), len(want))
	}
}

// A line that is not a 100-byte record with a TAB after its key fails
// the map for good, naming the file and the byte.
func TestTerasortRefusesOtherLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	good := record(rng, 0)
	for _, bad := range []string{"short line", good + "x", strings.Replace(good, "\t", " ", 1)} {
		data := good + "\n" + bad + "\n"
		cfg := spec.Config{Job: "j", Task: "m-00000", Phase: task.PhaseMap, Reduces: 1,
			Split: spec.Split{File: spec.SplitFile, Name: "in/part-00000", Length: int64(len(data))}}
		taskDir := tasktest.TaskDir(t, t.TempDir(), cfg, map[string][]byte{spec.SplitFile: []byte(data)})
		res, err := task.Run(App, taskDir)
		want := "in/part-00000 byte 100: "
		if err == nil || !res.Fatal || !strings.Contains(res.Error, want) || !strings.Contains(res.Error, "is not a teragen record") {
			t.Errorf("line %q: result %+v, want a fatal error at %q", bad, res, want)
		}
	}
}

// record is a 99-byte teragen-shaped line: a key of ten bytes from "ab",
// TAB, the row in 32 digits, two blanks and 54 bytes of filler.
func record(rng *rand.Rand, row int) string {
	key := make([]byte, 10)
	for i := range key {
		key[i] = "ab"[rng.IntN(2)]
	}
	return fmt.Sprintf("%s\t%032X  %s", key, row, strings.Repeat(string(rune('A'+row%26)), 54))
}
