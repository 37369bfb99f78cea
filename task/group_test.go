package task_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/tasktest"
)

// TestMapOrderWithoutCombine runs maps without a Combine over inputs
// whose keys repeat a lot, barely, or first barely and then a lot — so the
// map groups, sorts, or starts grouping and moves to sorting, with and
// without spills — and checks every reduce's output against a stable
// sort of the input computed here: keys in order, each key's values in
// input order (there is one map, so input order is emit order).
func TestMapOrderWithoutCombine(t *testing.T) {
	pairs := func(line string) (string, string) {
		k, v, _ := strings.Cut(line, " ")
		return k, v
	}
	app := task.App{
		Map: func(_ *task.Context, _, line string, emit task.Emit) error {
			emit(pairs(line))
			return nil
		},
	}
	rng := rand.New(rand.NewPCG(1, 9))
	inputs := map[string]func(i int) string{
		"repeating": func(int) string { return fmt.Sprintf("k%d", rng.IntN(300)) },
		"distinct":  func(i int) string { return fmt.Sprintf("d%07d", rng.IntN(1<<30)) },
		"distinct, then repeating": func(i int) string {
			if i < 30000 {
				return fmt.Sprintf("d%07d", rng.IntN(1<<30))
			}
			return fmt.Sprintf("k%d", rng.IntN(300))
		},
	}
	for name, key := range inputs {
		var lines []string
		for i := range 120000 {
			v := ""
			switch rng.IntN(4) {
			case 0:
				v = fmt.Sprint(i) // a value of its own: order shows
			case 1:
				v = "1"
			}
			lines = append(lines, key(i)+" "+v)
		}
		input := filepath.Join(t.TempDir(), "in.txt")
		if err := os.WriteFile(input, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(lines)
		slices.SortStableFunc(want, func(a, b string) int {
			ka, _ := pairs(a)
			kb, _ := pairs(b)
			return cmp.Compare(ka, kb)
		})
		for _, buffer := range []int64{0, 256 << 10} {
			out := tasktest.Run(t, app, tasktest.Job{Inputs: []string{input}, Reduces: 3, SortBuffer: buffer})
			var got []string
			for p, part := range out.Parts {
				for _, line := range strings.Split(strings.TrimSuffix(part, "\n"), "\n") {
					k, v, _ := strings.Cut(line, "\t")
					if task.HashPartition(k, 3) != p {
						t.Fatalf("%s: key %q in part %d", name, k, p)
					}
					got = append(got, k+" "+v)
				}
			}
			slices.SortStableFunc(got, func(a, b string) int {
				ka, _ := pairs(a)
				kb, _ := pairs(b)
				return cmp.Compare(ka, kb)
			})
			if !slices.Equal(got, want) {
				t.Fatalf("%s, sort buffer %d: output differs from a stable sort of the input", name, buffer)
			}
		}
	}
}
