package client

import (
	"fmt"
	"strings"
	"testing"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

func loc(m, attempt int, worker string) tracker.MapLoc {
	return tracker.MapLoc{Map: m, Attempt: attempt, Worker: registry.WorkerInfo{ID: worker, Addr: worker + ":1"},
		Result: &spec.Result{Outputs: []spec.OutputFile{{Partition: 0, Size: 1}, {Partition: 1, Size: int64(10 + m), CRC32C: 7}}}}
}

// A second launch of a streamed reduce (the first was refused) lists what
// the first took from the feed, with lost outputs dropped and re-runs in
// their place.
func TestStreamedFetchKeepsWhatTheFeedSaid(t *testing.T) {
	sr := &streamed{part: 1, inputs: []tracker.MapLoc{loc(1, 0, "a"), loc(0, 0, "a")}}
	sr.seen = []tracker.MapUpdate{
		{Map: 1, Lost: true},
		{Map: 3, Loc: loc(3, 0, "b")},
		{Map: 1, Loc: loc(1, 1, "c")},
		{Map: 0, Lost: true},
	}
	var got []string
	for _, mo := range sr.fetch() {
		got = append(got, fmt.Sprintf("%s@%d/%s/p%d/%d", mo.Task, mo.Attempt, mo.WorkerID, mo.Partition, mo.Size))
	}
	want := "m-00001@1/c/p1/11 m-00003@0/b/p1/13"
	if strings.Join(got, " ") != want {
		t.Fatalf("fetch = %q, want %q", strings.Join(got, " "), want)
	}
}
