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
	var p uint64
	for i := range 8 {
		p <<= 8
		if i < len(key) {
			p |= uint64(key[i])
		}
	}
	return p
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
// finds where each of the n partitions starts.
func (b *sortBuffer) sort(n int) {
	slices.SortFunc(b.recs, func(x, y sortRec) int {
		if x.part != y.part {
			return cmp.Compare(x.part, y.part)
		}
		if x.prefix != y.prefix {
			return cmp.Compare(x.prefix, y.prefix)
		}
		if c := bytes.Compare(b.key(x), b.key(y)); c != 0 {
			return c
		}
		return cmp.Compare(x.off, y.off)
	})
	b.parts = b.parts[:0]
	i := 0
	for p := range n {
		b.parts = append(b.parts, i)
		for i < len(b.recs) && int(b.recs[i].part) == p {
			i++
		}
	}
	b.parts = append(b.parts, len(b.recs))
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
