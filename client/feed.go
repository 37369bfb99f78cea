package client

import (
	"context"
	"slices"
	"time"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// streamed is the client side of a reduce attempt launched before every
// map was done (see docs/PROTOCOL.md, "Streamed reduces"): the tracker
// posts map updates to the attempt's Feed, and forward passes them down
// the launch stream as FetchMore frames. It remembers what it took from
// the feed, so that a second launch of the same attempt (the worker was
// busy, or had lost the artifact) lists every map output known so far.
// Launches of one attempt are sequential, and forward's stop waits for
// its goroutine, so seen needs no lock.
type streamed struct {
	feed   *tracker.Feed
	part   int              // the reduce's partition
	inputs []tracker.MapLoc // the map outputs known at launch
	seen   []tracker.MapUpdate
}

// feedChunk bounds the map outputs or updates in a launch request or a
// FetchMore frame, keeping each far below proto.MaxFrame: an output is
// about 100 bytes, and a request listing 10,000 of them went over it.
const feedChunk = 1000

// splitFetch returns the launch request to send, listing at most
// feedChunk map outputs, and the rest, which follow it on the launch
// stream as FetchMore frames. A request that listed every map's output
// (the maps are done) then says how many there are, as a streamed one
// does, so that the worker waits for the rest.
func splitFetch(req proto.LaunchRequest) (proto.LaunchRequest, []proto.MapOutput) {
	if len(req.Fetch) <= feedChunk {
		return req, nil
	}
	if req.Maps == 0 {
		req.Maps = len(req.Fetch) // one output per map task
	}
	rest := req.Fetch[feedChunk:]
	req.Fetch = req.Fetch[:feedChunk:feedChunk]
	return req, rest
}

// fetch lists the map outputs known so far, in map order: those known at
// launch, updated by what the feed said since.
func (sr *streamed) fetch() []proto.MapOutput {
	locs := make(map[int]tracker.MapLoc, len(sr.inputs))
	for _, in := range sr.inputs {
		locs[in.Map] = in
	}
	for _, u := range sr.seen {
		if u.Lost {
			delete(locs, u.Map)
		} else {
			locs[u.Map] = u.Loc
		}
	}
	maps := make([]int, 0, len(locs))
	for m := range locs {
		maps = append(maps, m)
	}
	slices.Sort(maps)
	out := make([]proto.MapOutput, 0, len(maps))
	for _, m := range maps {
		out = append(out, mapOutput(locs[m], sr.part))
	}
	return out
}

// forward sends down the launch stream the map outputs the request left
// out (rest), then, for a streamed reduce (sr not nil), the feed's updates
// until stop is called. A write that fails ends forwarding: the stream is
// broken and the launch will say so. It writes from a goroutine of its
// own: a worker that refuses the launch reads no frames, and a write may
// then wait on a full window until stop.
func forward(ctx context.Context, st *proto.Stream, rest []proto.MapOutput, sr *streamed) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(rest) > 0 {
			n := min(len(rest), feedChunk)
			if err := proto.WriteFrame(st, &proto.FetchMore{Fetch: rest[:n]}); err != nil {
				return
			}
			rest = rest[n:]
		}
		if sr == nil {
			return
		}
		for {
			ups, err := sr.feed.Next(ctx)
			if err != nil {
				return
			}
			sr.seen = append(sr.seen, ups...)
			for len(ups) > 0 {
				n := min(len(ups), feedChunk)
				var more proto.FetchMore
				for _, u := range ups[:n] {
					if u.Lost {
						more.Lost = append(more.Lost, spec.TaskID(spec.PhaseMap, u.Map))
					} else {
						more.Fetch = append(more.Fetch, mapOutput(u.Loc, sr.part))
					}
				}
				if err := proto.WriteFrame(st, &more); err != nil {
					return
				}
				ups = ups[n:]
			}
		}
	}()
	return func() {
		cancel()
		_ = st.SetWriteDeadline(time.Now()) // wakes a write stuck on a full window
		<-done
	}
}
