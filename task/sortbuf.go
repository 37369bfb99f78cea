package task

import (
	"bytes"
	"cmp"
	"math"
	"unsafe"
)

// sortRec locates one buffered record in the sort buffer's arena: the
// key at off, the value right after it. key is the key's first bytes
// packed by packKey (deeper ones once radixSort has re-packed a group of
// long keys), so most comparisons never touch the arena, and records
// with the same short key compare equal on it alone.
type sortRec struct {
	key  uint64
	off  uint32
	klen uint32
	vlen uint32
	part uint32
}

// recCost is what a buffered record costs beyond its bytes: its sortRec.
const recCost = int(unsafe.Sizeof(sortRec{}))

// maxSortBuffer is the largest sort buffer a task uses, whatever it is
// given: offsets into the buffer are 32-bit, which keeps each record's
// sortRec small.
const maxSortBuffer = 1<<32 - 8

// sortBuffer holds map output in memory until it is sorted and written
// out. It is one arena of --sort-buffer bytes, allocated once and never
// grown: the keys and values are copied in from the front, and each
// record's sortRec is placed from the back, as in Hadoop's map output
// buffer. So a record holds no reference to the string it was cut from,
// the buffer makes no garbage, and its memory is the limit, whatever the
// mix of record sizes. The arena is allocated in full but touched only
// as far as records reach, so a small map's memory stays small.
type sortBuffer struct {
	mem   []byte    // the arena
	used  int       // bytes of keys and values at the front of mem
	recs  []sortRec // the sortRecs at the back of mem, newest first
	limit int       // the arena's size
	parts []int     // after sort: partition p is recs[parts[p]:parts[p+1]]
}

func newSortBuffer(limit int64) *sortBuffer {
	// A multiple of 8, so that the sortRecs at its back are aligned; no
	// more than an int holds on a 32-bit machine.
	return &sortBuffer{limit: int(max(min(limit, maxSortBuffer, math.MaxInt), int64(8*recCost))) &^ 7}
}

// fits reports whether a record of n key and value bytes fits in the
// buffer. In an empty buffer every record fits: one bigger than the limit
// gets an arena of its own, given back when the buffer is next reset.
func (b *sortBuffer) fits(n int) bool { return len(b.recs) == 0 || b.room(n) }

// room reports whether the arena has room for one more record of n key
// and value bytes. Every record takes at least a byte, so that offsets
// are unique and order equal keys by arrival (radixSort).
func (b *sortBuffer) room(n int) bool {
	return b.used+max(n, 1)+(len(b.recs)+1)*recCost <= len(b.mem)
}

// add buffers one record, which must fit.
func (b *sortBuffer) add(part int, key, value string) {
	n := max(len(key)+len(value), 1)
	if !b.room(n) {
		if len(b.recs) > 0 {
			panic("task: sortBuffer.add of a record that does not fit")
		}
		b.mem = make([]byte, max(b.limit, (n+recCost+7)&^7))
		setFlatBytes(int64(len(b.mem)))
	}
	off := b.used
	copy(b.mem[off:], key)
	copy(b.mem[off+len(key):], value)
	b.used += n
	at := len(b.mem) - (len(b.recs)+1)*recCost
	b.recs = unsafe.Slice((*sortRec)(unsafe.Pointer(&b.mem[at])), len(b.recs)+1)
	b.recs[0] = sortRec{
		key: packKey(key), off: uint32(off),
		klen: uint32(len(key)), vlen: uint32(len(value)), part: uint32(part),
	}
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

func (b *sortBuffer) len() int { return len(b.recs) }

// sort orders the records by partition, then key, then arrival, and
// finds where each of the n partitions starts. Records are first moved
// into their partitions in place (one pass, no extra memory); each
// partition is then radix-sorted on its own.
func (b *sortBuffer) sort(n int) {
	b.parts = b.bucket(n)
	for p := range n {
		b.radixSort(b.recs[b.parts[p]:b.parts[p+1]], 0, 0)
	}
}

// compareFrom orders two records of one partition by key, then arrival,
// when their keys agree on their first depth bytes and their packed keys
// hold the bytes from depth on.
func (b *sortBuffer) compareFrom(x, y sortRec, depth int) int {
	if x.key != y.key {
		return cmp.Compare(x.key, y.key)
	}
	if x.key&0xff == 0xff { // both keys go on past what key holds
		if c := bytes.Compare(b.key(x)[depth+7:], b.key(y)[depth+7:]); c != 0 {
			return c
		}
	}
	return cmp.Compare(x.off, y.off)
}

// Radix sort. A record's sort key is its packed key (8 bytes) then its
// offset (4 bytes): the offset is unique and grows with arrival, so
// sorting on it too keeps equal keys in arrival order, which makes the
// sort stable without extra memory. Records whose packed keys are equal
// but go on past what packKey holds (7 bytes and a marker) are packed
// again from their 8th byte and sorted on that, and so on.
const (
	keyDigits  = 8
	sortDigits = keyDigits + 4

	// smallSort is the size below which a range is sorted by
	// insertion: a radix pass costs two 256-entry tables.
	smallSort = 32
)

// digit is byte d of r's sort key, the most significant first.
func digit(r *sortRec, d int) int {
	if d < keyDigits {
		return int(byte(r.key >> (56 - 8*d)))
	}
	return int(byte(r.off >> (24 - 8*(d-keyDigits))))
}

// radixSort sorts recs, whose keys agree on their first depth bytes and
// whose sort keys agree before digit d, by compareFrom. It is an American
// flag sort: most significant digit first, each pass counting the
// digit's values and then swapping every record into its bucket in
// place, and each bucket sorted on the next digit. A digit on which all
// records agree costs one counting pass and no swaps.
func (b *sortBuffer) radixSort(recs []sortRec, d, depth int) {
	for ; d < sortDigits; d++ {
		if len(recs) < smallSort {
			b.insertionSort(recs, depth)
			return
		}
		if d == keyDigits && recs[0].key&0xff == 0xff {
			// The keys agree on depth+7 bytes and go on: sort on
			// the next ones.
			depth += 7
			for i := range recs {
				recs[i].key = packKey(b.keyString(recs[i])[depth:])
			}
			d = -1
			continue
		}
		var count [256]int
		for i := range recs {
			count[digit(&recs[i], d)]++
		}
		if count[digit(&recs[0], d)] == len(recs) {
			continue // every record has this digit
		}
		var next, end [256]int
		sum := 0
		for v, c := range count {
			next[v] = sum
			sum += c
			end[v] = sum
		}
		for v := range next {
			for i := next[v]; i < end[v]; i = next[v] {
				// Swap record i into its bucket until the one
				// landing here belongs here.
				w := digit(&recs[i], d)
				if w == v {
					next[v]++
					continue
				}
				recs[i], recs[next[w]] = recs[next[w]], recs[i]
				next[w]++
			}
		}
		start := 0
		for _, stop := range end {
			if stop-start > 1 {
				b.radixSort(recs[start:stop], d+1, depth)
			}
			start = stop
		}
		return
	}
}

// insertionSort sorts a short range, whose keys agree on their first
// depth bytes; on few records it beats anything cleverer.
func (b *sortBuffer) insertionSort(recs []sortRec, depth int) {
	for i := 1; i < len(recs); i++ {
		for j := i; j > 0 && b.compareFrom(recs[j], recs[j-1], depth) < 0; j-- {
			recs[j], recs[j-1] = recs[j-1], recs[j]
		}
	}
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
	return b.mem[r.off : r.off+r.klen]
}

// keyString is r's key without a copy, for packKey; it must not outlive
// the buffer's data.
func (b *sortBuffer) keyString(r sortRec) string { return unsafeString(b.key(r)) }

// unsafeString is b as a string, without a copy: only for a string that
// is dropped before b changes.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (b *sortBuffer) value(r sortRec) []byte {
	start := r.off + r.klen
	return b.mem[start : start+r.vlen]
}

// partition streams partition p's records; call sort first.
func (b *sortBuffer) partition(p int) stream {
	return &bufStream{b: b, i: b.parts[p] - 1, end: b.parts[p+1]}
}

// reset empties the buffer for reuse; an arena made for one oversized
// record is given back.
func (b *sortBuffer) reset() {
	b.used, b.recs = 0, nil
	if len(b.mem) > b.limit {
		b.release()
	}
}

// release gives the buffer's memory back.
func (b *sortBuffer) release() {
	b.mem, b.used, b.recs = nil, 0, nil
	setFlatBytes(0)
}

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
