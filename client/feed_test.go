package client

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/distmr/dist/proto"
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

// A launch request lists at most feedChunk map outputs; the rest follow
// in FetchMore frames, each far below a frame's limit, and together they
// are the whole list in order. A request that listed every map becomes a
// streamed one, naming the number of maps; a streamed one keeps its own.
func TestSplitFetch(t *testing.T) {
	outputs := func(n int) []proto.MapOutput {
		var out []proto.MapOutput
		for m := range n {
			out = append(out, mapOutput(loc(m, 3, fmt.Sprintf("worker-%d", m%100)), 1))
		}
		return out
	}
	small := proto.LaunchRequest{Fetch: outputs(feedChunk)}
	if send, rest := splitFetch(small); len(send.Fetch) != feedChunk || send.Maps != 0 || rest != nil {
		t.Fatalf("a request of %d outputs was split: %d + %d, maps %d", feedChunk, len(send.Fetch), len(rest), send.Maps)
	}
	for _, maps := range []int{0, 30000} {
		all := outputs(20000)
		send, rest := splitFetch(proto.LaunchRequest{Fetch: all, Maps: maps})
		want := maps
		if want == 0 {
			want = len(all)
		}
		if send.Maps != want {
			t.Errorf("Maps = %d, want %d", send.Maps, want)
		}
		frames := []any{&send}
		got := slices.Clone(send.Fetch)
		for len(rest) > 0 { // as forward sends them
			n := min(len(rest), feedChunk)
			frames = append(frames, &proto.FetchMore{Fetch: rest[:n]})
			got = append(got, rest[:n]...)
			rest = rest[n:]
		}
		if !slices.Equal(got, all) {
			t.Errorf("the request and its frames do not list the outputs in order")
		}
		for i, f := range frames {
			b, err := msgpack.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > proto.MaxFrame/8 {
				t.Errorf("frame %d encodes to %d bytes, near the limit of %d", i, len(b), proto.MaxFrame)
			}
		}
	}
}
