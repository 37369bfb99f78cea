package task

import (
	"bytes"
	"cmp"
	"slices"
)

// sortRec locates one buffered record in sortBuffer.data: the key at off,
// the value right after it. prefix holds the key's first 8 bytes
// (big-endian, zero-padded), so most comparisons never touch data.
type sortRec struct {
	prefix uint64
	off    int
	klen   int32
	vlen   int32
	part   int32
}

// recCost is what a buffered record costs beyond its bytes: its sortRec.
const recCost = 32

// sortBuffer holds map output in memory until it is sorted and written
// out. Keys and values are copied into one byte slice, so a record holds
// no reference to the (possibly long) string it was cut from.
type sortBuffer struct {
	data  []byte
	recs  []sortRec
	limit int64 // bytes of records (data plus recCost each) before full
	parts []int // after sort: partition p is recs[parts[p]:parts[p+1]]
}

func newSortBuffer(limit int64) *sortBuffer {
	return &sortBuffer{limit: limit}
}

// add buffers one record; call full afterwards.
func (b *sortBuffer) add(part int, key, value string) {
	n := len(key) + len(value)
	if len(b.data)+n > cap(b.data) {
		b.data = grow(b.data, n, int(b.limit))
	}
	if len(b.recs) == cap(b.recs) {
		b.recs = grow(b.recs, 1, int(b.limit/recCost))
	}
	off := len(b.data)
	b.data = append(b.data, key...)
	b.data = append(b.data, value...)
	b.recs = append(b.recs, sortRec{
		prefix: keyPrefix(key), off: off,
		klen: int32(len(key)), vlen: int32(len(value)), part: int32(part),
	})
}

// keyPrefix packs the first 8 bytes of key into a number that orders
// like the bytes: when two prefixes differ, so do the keys, the same way.
func keyPrefix(key string) uint64 {
	// Whole loads, overlapping for short keys, rather than a loop whose
	// length the branch predictor cannot guess.
	switch n := len(key); {
	case n >= 8:
		_ = key[7]
		return uint64(key[0])<<56 | uint64(key[1])<<48 | uint64(key[2])<<40 | uint64(key[3])<<32 |
			uint64(key[4])<<24 | uint64(key[5])<<16 | uint64(key[6])<<8 | uint64(key[7])
	case n >= 4:
		_ = key[3]
		first := uint64(key[0])<<24 | uint64(key[1])<<16 | uint64(key[2])<<8 | uint64(key[3])
		last := uint64(key[n-4])<<24 | uint64(key[n-3])<<16 | uint64(key[n-2])<<8 | uint64(key[n-1])
		return first<<32 | last<<(64-8*n)
	case n > 0:
		return uint64(key[0])<<56 | uint64(key[n/2])<<(56-8*(n/2)) | uint64(key[n-1])<<(56-8*(n-1))
	}
	return 0
}

// grow returns s with room for n more elements: double the capacity, but
// not past limit unless n itself needs more.
func grow[T any](s []T, n, limit int) []T {
	need := len(s) + n
	c := min(max(2*cap(s), 1024), max(limit, need))
	c = max(c, need)
	t := make([]T, len(s), c)
	copy(t, s)
	return t
}

// full reports whether the buffer reached its limit.
func (b *sortBuffer) full() bool {
	return int64(len(b.data))+int64(len(b.recs))*recCost >= b.limit
}

func (b *sortBuffer) len() int { return len(b.recs) }

// sort orders the records by partition, then key, then arrival, and
// finds where each of the n partitions starts. Records are first moved
// into their partitions in place (one pass, no extra memory); each
// partition is then sorted on its own, so comparisons never look at the
// partition and most are settled by the 8-byte key prefixes alone.
func (b *sortBuffer) sort(n int) {
	b.parts = b.bucket(n)
	for p := range n {
		slices.SortFunc(b.recs[b.parts[p]:b.parts[p+1]], b.compare)
	}
}

// compare orders two records of one partition by key, then arrival.
func (b *sortBuffer) compare(x, y sortRec) int {
	if x.prefix != y.prefix {
		return cmp.Compare(x.prefix, y.prefix)
	}
	if x.klen > 8 || y.klen > 8 {
		if c := bytes.Compare(b.key(x), b.key(y)); c != 0 {
			return c
		}
	} else if x.klen != y.klen {
		// Equal zero-padded prefixes: the shorter key is the longer
		// one's beginning, so it sorts first.
		return cmp.Compare(x.klen, y.klen)
	}
	return cmp.Compare(x.off, y.off)
}

// bucket moves every record into its partition's range, in place, and
// returns where each of the n partitions starts (plus the end). The
// order within a partition is lost; sort restores it from the offsets.
func (b *sortBuffer) bucket(n int) []int {
	starts := b.parts[:0]
	for range n + 1 {
		starts = append(starts, 0)
	}
	for _, r := range b.recs {
		starts[r.part+1]++
	}
	for p := range n {
		starts[p+1] += starts[p]
	}
	next := make([]int, n) // the next unsettled slot of each partition
	copy(next, starts[:n])
	for p := range n {
		for next[p] < starts[p+1] {
			r := b.recs[next[p]]
			if int(r.part) == p {
				next[p]++
				continue
			}
			// Swap r into its own partition; what comes back is looked
			// at in the next round.
			q := r.part
			b.recs[next[p]], b.recs[next[q]] = b.recs[next[q]], r
			next[q]++
		}
	}
	return starts
}

func (b *sortBuffer) key(r sortRec) []byte {
	return b.data[r.off : r.off+int(r.klen)]
}

func (b *sortBuffer) value(r sortRec) []byte {
	start := r.off + int(r.klen)
	return b.data[start : start+int(r.vlen)]
}

// partition streams partition p's records; call sort first.
func (b *sortBuffer) partition(p int) stream {
	return &bufStream{b: b, i: b.parts[p] - 1, end: b.parts[p+1]}
}

// reset empties the buffer for reuse. Each slice stays within the limit
// (so the buffer's memory is at most twice SortBuffer) unless a record
// bigger than the limit stretched one; that memory is given back.
func (b *sortBuffer) reset() {
	if int64(cap(b.data)) > b.limit || int64(cap(b.recs))*recCost > b.limit {
		b.release()
		return
	}
	b.data, b.recs = b.data[:0], b.recs[:0]
}

// release gives the buffer's memory back.
func (b *sortBuffer) release() { b.data, b.recs = nil, nil }

// bufStream streams a range of sorted buffered records.
type bufStream struct {
	b      *sortBuffer
	i, end int
}

func (s *bufStream) Next() bool {
	if s.i < s.end {
		s.i++
	}
	return s.i < s.end
}

func (s *bufStream) Key() []byte   { return s.b.key(s.b.recs[s.i]) }
func (s *bufStream) Value() []byte { return s.b.value(s.b.recs[s.i]) }
func (s *bufStream) Err() error    { return nil }
