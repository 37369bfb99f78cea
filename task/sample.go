package task

import (
	"fmt"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/task/spec"
)

// A sample task (spec.PhaseSample) runs Map over records spread through
// its split and reports the keys Map emitted, so that the client can pick
// cut points of the map output keys (an app's Map may change its keys:
// sampling input lines would be right only for identity maps). It reads
// the whole split but calls Map on every stride-th record; whenever the
// sample outgrows the spec.Sample* bounds the stride doubles and the
// records off the new stride are dropped, so the sample stays spread
// evenly over everything read and bounded in records, keys and bytes.

// sampled is the keys one sampled record's Map emitted.
type sampled struct {
	rec  int64 // the record's number in the split
	keys []string
}

// sampler keeps the sample of one split.
type sampler struct {
	stride      int64
	recs        []sampled
	nkeys, size int
}

// keep reports whether record rec is on the stride.
func (s *sampler) keep(rec int64) bool { return rec%s.stride == 0 }

// add records the keys of record rec and thins the sample while it is over
// its bounds. A record's keys are first cut to a spread of at most a
// quarter of the bounds, each key to spec.SampleKeyBytes (a prefix of a key
// is as good a cut point), so one record always fits and thinning ends.
func (s *sampler) add(rec int64, keys []string) {
	if n := spec.SampleKeys / 4; len(keys) > n {
		spread := make([]string, n)
		for i := range spread {
			spread[i] = keys[i*len(keys)/n]
		}
		keys = spread
	}
	for i, k := range keys {
		if len(k) > spec.SampleKeyBytes {
			keys[i] = k[:spec.SampleKeyBytes]
		}
	}
	for len(keys) > 1 && bytesOf(keys) > spec.SampleBytes/4 {
		keys = everyOther(keys)
	}
	s.recs = append(s.recs, sampled{rec: rec, keys: keys})
	s.count(keys)
	for len(s.recs) > spec.SampleRecords || s.nkeys > spec.SampleKeys || s.size > spec.SampleBytes {
		s.thin()
	}
}

func (s *sampler) count(keys []string) {
	s.nkeys += len(keys)
	s.size += bytesOf(keys)
}

func bytesOf(keys []string) int {
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	return n
}

func everyOther(keys []string) []string {
	out := keys[:0]
	for i := 0; i < len(keys); i += 2 {
		out = append(out, keys[i])
	}
	return out
}

// thin doubles the stride and drops the records off it.
func (s *sampler) thin() {
	s.stride *= 2
	kept := s.recs[:0]
	s.nkeys, s.size = 0, 0
	for _, r := range s.recs {
		if s.keep(r.rec) {
			kept = append(kept, r)
			s.count(r.keys)
		}
	}
	s.recs = kept
}

// keys returns the sample's keys.
func (s *sampler) keys() []string {
	out := make([]string, 0, s.nkeys)
	for _, r := range s.recs {
		out = append(out, r.keys...)
	}
	return out
}

// A sample task reads a split of lines (text or kv input, not compressed)
// of more than 2 × sampleChunks × sampleChunkBytes bytes only in part:
// sampleChunks pieces of about sampleChunkBytes each, starting at lines
// spread evenly through the split. That is about 1 MB of each split,
// however large, and still every part of it (an input sorted already, or
// in runs, is sampled across its whole range). The client samples at most
// 10 splits (client.sampleSplits), so a 1 GB input costs about 10 MB of
// reading before the maps start instead of most of it. Any other split is
// read whole.
const (
	sampleChunks     = 32
	sampleChunkBytes = 32 << 10
)

// runSample runs Map over a spread of the split's records and returns the
// keys it emitted. Values, Combine and Flush play no part in the order.
func (r *runner) runSample() ([]string, error) {
	pieces, budget, done, err := r.samplePieces()
	if err != nil {
		return nil, err
	}
	defer done()
	mapFn := r.app.Map
	if mapFn == nil {
		mapFn = identityMap
	}
	smp := &sampler{stride: 1}
	var keys []string
	emit := Emit(func(key, _ string) { keys = append(keys, key) })
	rec := int64(0)
	for _, in := range pieces {
		left := budget
		for ; left > 0; rec++ {
			key, value, ok, err := r.next(in)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if budget != noBudget {
				left -= int64(len(key) + len(value) + 2) // about the line it was
			}
			if !smp.keep(rec) {
				continue
			}
			keys = nil
			if err := mapFn(r.ctx, key, value, emit); err != nil {
				return nil, fmt.Errorf("%s record %q: %w", r.ctx.InputFile(), clip(key), err)
			}
			smp.add(rec, keys)
		}
	}
	return smp.keys(), nil
}

// noBudget reads a piece to its end.
const noBudget = int64(1) << 62

// samplePieces opens what a sample task reads: the whole split, or
// sampleChunks pieces of it with a budget of bytes each.
func (r *runner) samplePieces() (pieces []input.Reader, budget int64, done func(), err error) {
	closeAll := func() {
		for _, p := range pieces {
			p.Close()
		}
	}
	whole := func() ([]input.Reader, int64, func(), error) {
		in, done, err := r.openSplit()
		if err != nil {
			return nil, 0, nil, err
		}
		return []input.Reader{in}, noBudget, func() { in.Close(); done() }, nil
	}
	s := r.cfg.Split
	lines := false
	switch r.inFmt.(type) {
	case input.Text, input.KV:
		lines = true
	}
	if !lines || len(s.Pieces) > 0 || input.Compressed(s.Name) || s.Length <= 2*sampleChunks*sampleChunkBytes {
		return whole()
	}
	split, _, release := r.split()
	parts, closeSrc, err := input.Spread(split, sampleChunks)
	if err != nil {
		release()
		return nil, 0, nil, fmt.Errorf("open input %s: %w", s.Name, err)
	}
	for _, p := range parts {
		in, err := r.inFmt.Open(p)
		if err != nil {
			closeAll()
			closeSrc()
			release()
			return nil, 0, nil, fmt.Errorf("open input %s: %w", s.Name, err)
		}
		pieces = append(pieces, in)
	}
	r.inBytes.Add(int64(len(parts)) * sampleChunkBytes)
	return pieces, sampleChunkBytes, func() { closeAll(); closeSrc(); release() }, nil
}
