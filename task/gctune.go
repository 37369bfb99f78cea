package task

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// gcHeadroom is how far past the live heap a task lets its heap grow
// before collecting, when the live heap is small. Go's default (GOGC=100:
// grow by the live heap) collects every few megabytes in a map task,
// whose live heap is a small combine buffer while it allocates a string
// per line and per word: on a busy machine the collector's own threads
// then take a good share of the CPU from the other tasks.
const gcHeadroom = 16 << 20

// Bounds of the GOGC the tuner sets: never so low that the collector
// runs all the time, and never so high that a heap growing from almost
// nothing overshoots by much.
const (
	minGCPercent = 10
	maxGCPercent = 1000
)

// flatBytes is the memory of the map's sort buffer: live, but free of
// pointers, so the collector marks it without scanning it and it costs
// a collection next to nothing. The sort buffer keeps it up to date.
var flatBytes atomic.Int64

// tuneGC makes the collector keep, beyond the live heap, as much garbage
// as the live heap less the sort buffer, but at least gcHeadroom: after
// every collection it sets GOGC to 100 × that / live heap, within
// [minGCPercent, maxGCPercent]. So a task with a big in-mapper table is
// collected as Go would by default, while a full sort buffer no longer
// lets the heap grow by its own size: a map task's memory stays near
// --sort-buffer plus what the app itself keeps. Main calls it unless the
// user set GOGC or GOMEMLIMIT; it lasts for the life of the process.
func tuneGC() {
	t := &gcTuner{sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}, percent: -1}
	tuner.Store(t)
	t.adjust()
	t.arm()
}

// tuner is the tuner tuneGC started, if it did.
var tuner atomic.Pointer[gcTuner]

// setFlatBytes records the sort buffer's new size and retunes at once:
// the tuner may have let the heap grow tenfold while it was small, and a
// new 64 MB buffer must not wait for a collection at ten times that.
func setFlatBytes(n int64) {
	flatBytes.Store(n)
	if t := tuner.Load(); t != nil {
		t.adjust()
	}
}

type gcTuner struct {
	mu      sync.Mutex // adjust runs on the collector's cleanup goroutine and in setFlatBytes
	sample  []metrics.Sample
	percent int
}

// gcSentinel is garbage the moment it is made; its cleanup runs after
// the collection that finds it, and arms the next one.
type gcSentinel struct {
	_ [16]byte
	_ *int // a pointer, so the object is never a tiny allocation
}

func (t *gcTuner) arm() {
	s := &gcSentinel{}
	runtime.AddCleanup(s, func(t *gcTuner) {
		t.adjust()
		t.arm()
	}, t)
}

// adjust sets GOGC for the live heap the last collection found.
func (t *gcTuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	metrics.Read(t.sample)
	live := uint64(0)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	flat := uint64(max(flatBytes.Load(), 0))
	if live < flat {
		// A sort buffer made since the last collection: it is live.
		live += flat
	}
	// Go never aims below a 4 MB heap (times GOGC/100); from a smaller
	// live heap, as at the start, count 4 MB so as not to overshoot.
	live = max(live, 4<<20)
	headroom := uint64(gcHeadroom)
	if live > flat {
		headroom = max(headroom, live-flat)
	}
	percent := int(min(max(100*headroom/live, minGCPercent), maxGCPercent))
	if percent != t.percent {
		t.percent = percent
		debug.SetGCPercent(percent)
	}
}
