package task_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// ExampleRun runs a word count the way workers would: one map task over
// a staged split, then one reduce task over the map's partition file.
func ExampleRun() {
	app := task.App{
		Map: func(ctx *task.Context, offset, line string, emit task.Emit) error {
			for _, w := range strings.Fields(line) {
				emit(w, "1")
			}
			return nil
		},
		Reduce: func(ctx *task.Context, word string, counts task.Values, emit task.Emit) error {
			n := 0
			for range counts {
				n++
			}
			emit(word, strconv.Itoa(n))
			return nil
		},
	}

	root, err := os.MkdirTemp("", "dist-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)

	// The map task: config and split, as a worker stages them.
	mapDir := filepath.Join(root, "m-00000")
	os.MkdirAll(filepath.Join(mapDir, spec.InDir), 0o755)
	text := "the cat saw the dog\nthe end\n"
	os.WriteFile(filepath.Join(mapDir, spec.SplitFile), []byte(text), 0o644)
	spec.WriteFile(filepath.Join(mapDir, spec.ConfigFile), &spec.Config{
		Job: "example", Task: "m-00000", Phase: task.PhaseMap, Reduces: 1,
		Split: spec.Split{File: spec.SplitFile, Name: "story.txt", Length: int64(len(text))},
	})
	mapRes, err := task.Run(app, mapDir)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The reduce task reads the map's sorted output for partition 0, and
	// checks it against the size and checksum the map reported.
	part := mapRes.Outputs[0]
	reduceDir := filepath.Join(root, "r-00000")
	os.MkdirAll(reduceDir, 0o755)
	spec.WriteFile(filepath.Join(reduceDir, spec.ConfigFile), &spec.Config{
		Job: "example", Task: "r-00000", Phase: task.PhaseReduce, Reduces: 1,
		Inputs: []spec.Input{{File: filepath.Join(mapDir, spec.OutDir, part.Name), Map: "m-00000",
			Size: part.Size, CRC32C: part.CRC32C}},
	})
	res, err := task.Run(app, reduceDir)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := os.ReadFile(filepath.Join(reduceDir, spec.OutDir, spec.PartName(0)))
	fmt.Print(string(out))
	fmt.Println(res.Status, res.Counters[spec.CounterReduceGroups], "groups")
	// Output:
	// cat	1
	// dog	1
	// end	1
	// saw	1
	// the	3
	// ok 5 groups
}
