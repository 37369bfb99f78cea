package worker

import (
	"testing"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A map with no input (dist run --tasks) runs without a PutInput: the
// program gets one record, its index, and no input file. One that also
// names an input to read is refused before it takes a slot.
func TestMapNoInput(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)

	req := mapRequest("job1", 3, 0, 0, art, map[string]string{"mode": "echo"})
	req.Config.Split = spec.Split{Tasks: 5}
	evs := runToEnd(t, s, req)
	final := evs[len(evs)-1]
	if final.Error != nil {
		t.Fatalf("map with no input: %v\nstderr:\n%s", final.Error, final.StderrTail)
	}
	if got := string(fetchOutput(t, s, "job1", "m-00003", 0, spec.PartName(3))); got != "3\t|\n" {
		t.Fatalf("output %q, want the index as key and no input file: %q", got, "3\t|\n")
	}

	req = mapRequest("job1", 4, 0, 0, art, nil)
	req.Config.Split = spec.Split{Tasks: 5}
	req.Input = &proto.InputSource{Kind: "s3", Name: "s3://b/k", Length: 1, Size: 1}
	evs = runToEnd(t, s, req)
	wireCode(t, evs[len(evs)-1].Error, proto.CodeBadRequest, "has no input")
}
