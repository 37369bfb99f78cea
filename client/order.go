package client

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// A totally ordered job (Config.TotalOrder) runs a sample pass before its
// maps, the way Hadoop's InputSampler does: a sample task
// (spec.PhaseSample) on each of up to sampleSplits evenly spread splits
// runs the app's Map over records spread through its split and reports
// the keys Map emitted. Sampling Map's output keys, not the input's,
// keeps the order right for apps that change keys (word count's keys are
// words, not lines). The client sorts the keys in byte order, the order
// the reduce side sorts by, and picks R-1 quantiles as cut points, each
// key weighing its split's share of the input (sampleWeight); every map
// receives them in its config (spec.Order) and partitions by them.
//
// Skew: a key that holds much of the sample is picked as several equal
// cut points; the partitions between them stay empty (their parts are
// written, empty) and the one reduce after them gets all of that key's
// records. A job thus always finishes, but one hot key is one reduce's
// work.

// sampleSplits is how many splits the sample pass reads at most.
const sampleSplits = 10

// sampleOrder runs the sample pass on workers and returns the maps' Order. A
// job with one reduce needs no cut points; its maps still carry an
// empty Order, so that an app with its own Partition is refused alike.
func (r *runner) sampleOrder(ctx context.Context, workers []registry.WorkerInfo, pins []tracker.Pin) (*spec.Order, error) {
	if r.cfg.Reduces == 1 || len(r.splits) == 0 {
		return &spec.Order{Cuts: make([]string, r.cfg.Reduces-1)}, nil
	}
	idx := spreadSplits(len(r.splits), sampleSplits)
	// One token per slot: a sample waits for a free slot of any worker.
	slots := make(chan registry.WorkerInfo, 64)
	free := 0
	for _, w := range workers {
		for range min(w.Slots, 64-free) {
			slots <- w
			free++
		}
	}
	if free == 0 {
		return nil, fmt.Errorf("%w: no worker has a slot for the sample tasks", ErrNoWorkers)
	}
	var (
		mu   sync.Mutex
		keys []sampleKey
	)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() {
			var pin string
			if i < len(pins) {
				pin = pins[i].Worker
			}
			got, err := r.sample(ctx, i, pin, workers, slots)
			if err != nil {
				cancel(err)
				return
			}
			w := r.sampleWeight(i, len(got))
			mu.Lock()
			for _, k := range got {
				keys = append(keys, sampleKey{k, w})
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	cuts := cutPoints(keys, r.cfg.Reduces)
	if n := cutBytes(cuts); n > spec.MaxCutBytes {
		return nil, fmt.Errorf("--total-order: the %d cut points for --reduces %d take %d bytes of keys, over the %d-byte limit: use fewer reduces or shorter keys",
			len(cuts), r.cfg.Reduces, n, spec.MaxCutBytes)
	}
	return &spec.Order{Cuts: cuts}, nil
}

// sample runs the sample task of split i to success, on the pinned worker
// if pin names one, trying up to MaxAttempts times. A launch the worker
// refuses as busy (its slots held by other jobs, or by this job's other
// samples pinned there) is no attempt, as for maps (tracker/sharing.go):
// the sample waits for a slot there and launches again.
func (r *runner) sample(ctx context.Context, i int, pin string, workers []registry.WorkerInfo, slots chan registry.WorkerInfo) ([]string, error) {
	var last error
	for n := 0; n < r.cfg.MaxAttempts; n++ {
		var w registry.WorkerInfo
		select {
		case w = <-slots:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		if pin != "" {
			if k := slices.IndexFunc(workers, func(x registry.WorkerInfo) bool { return x.ID == pin }); k >= 0 {
				slots <- w
				w = workers[k]
			}
		}
		a := tracker.Attempt{Task: tracker.TaskRef{Phase: spec.PhaseSample, Index: i}, N: n, Worker: w}
		e := r.run(ctx, a)
		for refusedAs(e, proto.CodeBusy) {
			r.cfg.Logger.Info("worker busy with other jobs: waiting for a slot", "job", r.job, "worker", w.ID, "task", a.Task.ID())
			if err := r.WaitSlot(ctx, w); err != nil {
				e = attemptEnd{step: launching, err: fmt.Errorf("waiting for a slot: %w", err)}
				break
			}
			e = r.run(ctx, a)
		}
		if pin == "" {
			slots <- w
		}
		if e.err == nil {
			return e.ev.Result.Sample, nil
		}
		last = fmt.Errorf("sample %s on worker %s: %w", a.Task.ID(), w.ID, e.err)
		if strings.Contains(e.err.Error(), `unknown phase "sample"`) {
			return nil, fmt.Errorf("%w: the app was built with a dist older than --total-order: rebuild it with this dist (dist build)", last)
		}
		if o := outcomeOf(e, func() bool { return true }); o.Kind == tracker.Fatal || ctx.Err() != nil {
			return nil, last
		}
	}
	return nil, last
}

// spreadSplits picks up to k of n split indexes, evenly spread, first
// and last included.
func spreadSplits(n, k int) []int {
	if n <= k {
		k = n
	}
	out := make([]int, 0, k)
	for j := range k {
		i := 0
		if k > 1 {
			i = j * (n - 1) / (k - 1)
		}
		out = append(out, i)
	}
	return slices.Compact(out)
}

// sampleKey is a sampled key and the share of the input it stands for.
type sampleKey struct {
	key    string
	weight float64
}

// sampleWeight is what each of the n keys sampled from split i weighs: the
// split's bytes shared among them. Every split reports at most as many
// keys however large it is (spec.Sample*), so without weights a 36 MB
// split would count as much as a 64 MB one, and the parts cut from a
// sorted file would be a third larger on one side than the other.
func (r *runner) sampleWeight(i, n int) float64 {
	size := int64(1) // maps with no input: alike
	if i < len(r.splits) {
		size = max(r.splits[i].Length, 1)
	}
	return float64(size) / float64(max(n, 1))
}

// cutPoints picks the reduces-1 cut points of the sampled keys: the
// weighted quantiles of the keys in byte order, cut i being the first key
// whose running weight passes i+1 shares of the whole (with equal weights,
// key number (i+1)×len/reduces). Equal neighbours are kept (see the skew
// note above); with no keys at all every cut is "" and every key goes to
// the last partition.
func cutPoints(keys []sampleKey, reduces int) []string {
	// Go orders strings bytewise, as the reduce side does.
	slices.SortFunc(keys, func(a, b sampleKey) int { return strings.Compare(a.key, b.key) })
	cuts := make([]string, reduces-1)
	if len(keys) == 0 {
		return cuts
	}
	total := 0.0
	for _, k := range keys {
		total += k.weight
	}
	// A tolerance keeps float sums that should equal a share exactly from
	// passing it early.
	eps := total * 1e-9
	run, k := 0.0, 0
	for i := range cuts {
		share := float64(i+1) * total / float64(reduces)
		for k < len(keys)-1 && run+keys[k].weight <= share+eps {
			run += keys[k].weight
			k++
		}
		cuts[i] = keys[k].key
	}
	return cuts
}

func cutBytes(cuts []string) int {
	n := 0
	for _, c := range cuts {
		n += len(c)
	}
	return n
}
