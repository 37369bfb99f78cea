package task

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
)

// combineBuffer is the map-side buffer of an app with a Combine. Sorting
// every record only to find equal keys again is most of a map's work when
// a few keys repeat many times (word count emits "the" millions of
// times), so this buffer groups records by key in a hash table as they
// are emitted, keeping a key's values as runs of equal values, and runs
// Combine over a key's values each time combineBatch runs of them have
// gathered. Combine bounds memory, and a run takes the same few bytes
// however long it is: word count's "the" emitted a million times with the
// value "1" is one run, combined once, when the buffer is written out.
// When the buffer reaches its limit its keys are sorted by partition and
// key, each key's values are combined once more, and the result is
// written out as a run, exactly as the sort buffer spills.
//
// # Layout
//
// Emitting is the hot path, so the table is its own rather than a Go map:
// open addressing with linear probing over 32-byte slots, which hold all
// an emit needs. A key of at most 14 bytes is recognised from its slot
// alone (its bytes and length are packed in two words), and values are
// kept as runs of equal values: the last run, while its value is at most
// 7 bytes, stays open in the slot, so that word count's "1" after "1"
// touches nothing but the slot. The rest of a key's state (the key
// itself, its finished runs of values) lives in a dense array of entries,
// touched when a key is new, longer than 14 bytes, or given a value
// unlike the one before.
//
// Memory is bounded like the sort buffer's: key bytes, value bytes, the
// slots and the entries count against the limit.
//
// # Without a Combine
//
// An app without a Combine gets the same buffer with grouping only
// (newGroupBuffer): values are never combined, but equal keys still meet
// in the table, and equal values of a key are kept as one run. Its output
// is exactly what sorting every record would give — keys in order, each
// key's values in the order they were emitted — at the cost of one table
// lookup per record instead of a share of a sort, and a key emitted a
// million times with the value "1" takes a slot, an entry and a count,
// not a million records. When most keys are distinct (a sort), grouping
// buys nothing: the task finds out from the first groupSample records
// and moves to the sort buffer (mapOutput.emit).
type combineBuffer struct {
	seed    maphash.Seed  // for long keys
	mix     uint64        // for short keys (see hash)
	slots   []combineSlot // len is a power of two; key 0 marks a free slot
	entries []combineEntry
	initial int  // the table's first size
	group   bool // group only: the app has no Combine
	limit   int64
	used    int64   // bytes counted against limit
	records int64   // records added since the last reset
	order   []int32 // after sort: entries by partition, then key
	parts   []int   // after sort: partition p is order[parts[p]:parts[p+1]]
	scratch []byte  // Combine's output while it runs

	// What emitCombined needs while Combine runs for one key; emit is
	// b.emitCombined, made once rather than a closure per call.
	emit Emit
	cur  *combineEntry
	outN int32
	werr error
}

// combineSlot is a key's place in the table.
type combineSlot struct {
	key   uint64 // packed (packKey); 0: free
	key2  uint64 // bytes 7 on of a longer key, packed (packKey2)
	run   uint64 // the open run's value, packed; 0: no run open
	entry int32  // index in entries
	runN  int32  // values in the open run
}

// combineEntry is the rest of a key's state.
type combineEntry struct {
	key   string
	vals  []byte // finished runs: a uvarint count, a uvarint length, the bytes
	runs  int64  // runs in vals
	batch int32  // runs opened between two Combines
	left  int32  // runs to open before Combine runs again
	part  int32
}

// combineBatch is how many runs of a key's values gather before Combine
// runs: a value unlike the one before it opens a run, as does every value
// longer than 7 bytes.
const combineBatch = 64

// Costs counted against the limit beyond key and value bytes.
const (
	slotCost  = 32
	entryCost = 64
)

// maxLoad is the fill of the table, in eighths, past which it doubles.
const maxLoad = 5

// maxInitial bounds the table's first size; a small limit makes it
// smaller, so that the table takes at most a quarter of the limit.
const maxInitial = 1024

func newCombineBuffer(limit int64) *combineBuffer {
	n := 16
	for 2*n <= maxInitial && int64(2*n)*slotCost <= limit/4 {
		n *= 2
	}
	seed := maphash.MakeSeed()
	b := &combineBuffer{seed: seed, mix: maphash.String(seed, "mix") | 1, limit: limit, initial: n}
	b.emit = b.emitCombined
	return b
}

// newGroupBuffer returns a buffer that groups records by key but never
// combines them, for an app without a Combine.
func newGroupBuffer(limit int64) *combineBuffer {
	b := newCombineBuffer(limit)
	b.group = true
	return b
}

// groupSample is how many records a group buffer takes before the task
// checks whether their keys repeat enough to keep grouping.
const groupSample = 1 << 14

// emitCombined is the Emit a Combine gets: it collects the output for
// the key being combined.
func (b *combineBuffer) emitCombined(k, v string) {
	switch {
	case b.werr != nil:
	case k != b.cur.key:
		b.werr = fmt.Errorf("%w: given key %q, it emitted %q: Combine must emit only the key it is given",
			ErrCombineKey, clip(b.cur.key), clip(k))
	default:
		b.scratch = appendRun(b.scratch, 1, v)
		b.outN++
	}
}

// combiner is what the buffer needs from the task: the partition of a new
// key, and Combine.
type combiner interface {
	partitionOf(key string) (int, error)
	combine(key string, values Values, emit Emit) error
}

// packShort packs a string of at most 7 bytes, and its length, into a
// number that is never 0; ok is false for a longer string.
func packShort(s string) (p uint64, ok bool) {
	if len(s) > 7 {
		return 0, false
	}
	return keyPrefix(s) | uint64(len(s)+1), true // the last byte is padding
}

// unpackShort is the inverse of packShort.
func unpackShort(dst *[8]byte, p uint64) []byte {
	n := int(p&0xff) - 1
	for i := range n {
		dst[i] = byte(p >> (56 - 8*i))
	}
	return dst[:n]
}

// packKey is packShort for short keys; a longer one packs its first 7
// bytes and the marker 0xff, and is then compared in full.
func packKey(s string) uint64 {
	if len(s) > 7 {
		return keyPrefix(s) | 0xff
	}
	return keyPrefix(s) | uint64(len(s)+1)
}

// packKey2 packs the bytes of key after its seventh as packKey does, so
// that packKey and packKey2 together are the whole of a key of at most 14
// bytes; 0 for a key of at most 7.
func packKey2(s string) uint64 {
	if len(s) <= 7 {
		return 0
	}
	return packKey(s[7:])
}

// hash hashes key, whose packKey is k. A short key is all in k, so a few
// multiplications mixing in a random seed do (the finalizer of
// splitmix64); a long one goes through maphash. Either way the seed is
// random per task, so input cannot be made to collide on purpose.
func (b *combineBuffer) hash(k uint64, key string) uint64 {
	if k&0xff == 0xff {
		return maphash.String(b.seed, key)
	}
	h := k ^ b.mix
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return h ^ h>>31
}

// add buffers one record and combines the key's values when a batch is
// complete.
func (b *combineBuffer) add(c combiner, key, value string) error {
	k, k2 := packKey(key), packKey2(key)
	h := b.hash(k, key)
	s := b.find(h, k, k2, key)
	if s.key == 0 {
		p, err := c.partitionOf(key)
		if err != nil {
			return err
		}
		if 8*(len(b.entries)+1) > maxLoad*len(b.slots) {
			b.grow()
			s = b.find(h, k, k2, key)
		}
		*s = combineSlot{key: k, key2: k2, entry: int32(len(b.entries))}
		// Copied: never pin the (possibly long) string key was cut from.
		b.entries = append(b.entries, combineEntry{key: strings.Clone(key), batch: combineBatch, left: combineBatch, part: int32(p)})
		b.used += int64(len(key)) + entryCost
	}
	b.records++
	if v, ok := packShort(value); ok && s.run == v && s.runN < math.MaxInt32 {
		s.runN++ // the commonest case: the open run goes on
		return nil
	} else if ok {
		b.closeRun(s)
		s.run, s.runN = v, 1
	} else {
		b.closeRun(s)
		b.appendRun(&b.entries[s.entry], 1, value)
	}
	if b.group {
		return nil
	}
	// A new run: the entry is in cache, closeRun or appendRun touched it.
	e := &b.entries[s.entry]
	if e.left--; e.left <= 0 {
		return b.combine(c, s)
	}
	return nil
}

// find returns the slot of key, or the free slot where it belongs.
func (b *combineBuffer) find(h, k, k2 uint64, key string) *combineSlot {
	if len(b.slots) == 0 {
		b.grow()
	}
	mask := uint64(len(b.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &b.slots[i]
		if s.key == 0 {
			return s
		}
		if s.key == k && s.key2 == k2 && (k2&0xff != 0xff || b.entries[s.entry].key == key) {
			return s
		}
	}
}

// grow doubles the table and moves the slots into it.
func (b *combineBuffer) grow() {
	old := b.slots
	n := max(2*len(old), b.initial)
	b.slots = make([]combineSlot, n)
	b.used += int64(n-len(old)) * slotCost
	mask := uint64(n - 1)
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		j := b.hash(s.key, b.entries[s.entry].key) & mask
		for b.slots[j].key != 0 {
			j = (j + 1) & mask
		}
		b.slots[j] = s
	}
}

// closeRun moves the open run of s, if any, into its entry's vals.
func (b *combineBuffer) closeRun(s *combineSlot) {
	if s.runN == 0 {
		return
	}
	var buf [8]byte
	e := &b.entries[s.entry]
	before := cap(e.vals)
	e.vals = appendRunBytes(e.vals, s.runN, unpackShort(&buf, s.run))
	e.runs++
	b.used += int64(cap(e.vals) - before)
	s.run, s.runN = 0, 0
}

// appendRun adds n copies of value to e's vals, counting any growth.
func (b *combineBuffer) appendRun(e *combineEntry, n int32, value string) {
	before := cap(e.vals)
	e.vals = appendRun(e.vals, n, value)
	e.runs++
	b.used += int64(cap(e.vals) - before)
}

func appendRun(vals []byte, n int32, value string) []byte {
	vals = binary.AppendUvarint(vals, uint64(n))
	vals = binary.AppendUvarint(vals, uint64(len(value)))
	return append(vals, value...)
}

func appendRunBytes(vals []byte, n int32, value []byte) []byte {
	vals = binary.AppendUvarint(vals, uint64(n))
	vals = binary.AppendUvarint(vals, uint64(len(value)))
	return append(vals, value...)
}

// nextRun decodes the first run of vals: its count, its value, and the
// runs after it.
func nextRun(vals []byte) (n int, value, rest []byte) {
	c, k := binary.Uvarint(vals)
	vals = vals[k:]
	l, k := binary.Uvarint(vals)
	vals = vals[k:]
	return int(c), vals[:l], vals[l:]
}

// combine replaces the key's values by what Combine makes of them. A
// Combine that does not shrink a batch to half gets bigger batches, so it
// runs less often.
func (b *combineBuffer) combine(c combiner, s *combineSlot) error {
	b.closeRun(s)
	e := &b.entries[s.entry]
	before := e.runs
	b.cur, b.scratch, b.outN, b.werr = e, b.scratch[:0], 0, nil
	err := c.combine(e.key, valuesOf(e.vals), b.emit)
	b.cur = nil
	if err != nil {
		return fmt.Errorf("combine: key %q: %w", clip(e.key), err)
	}
	if b.werr != nil {
		return b.werr
	}
	n := int64(b.outN) // each value Combine emitted is a run of its own
	capBefore := cap(e.vals)
	e.vals = append(e.vals[:0], b.scratch...)
	e.runs = n
	b.used += int64(cap(e.vals) - capBefore)
	if n > before/2 {
		e.batch = min(2*e.batch, 1<<20)
	}
	e.left = e.batch
	return nil
}

// valuesOf iterates the values of the runs in vals. Like the Values of a
// merge, a second range continues where the first stopped.
func valuesOf(vals []byte) Values {
	var v string
	left := 0 // copies of v still to hand out
	return func(yield func(string) bool) {
		for {
			if left == 0 {
				if len(vals) == 0 {
					return
				}
				var b []byte
				left, b, vals = nextRun(vals)
				v = string(b)
			}
			left--
			if !yield(v) {
				return
			}
		}
	}
}

// full reports whether the buffer reached its limit.
func (b *combineBuffer) full() bool { return b.used >= b.limit }

func (b *combineBuffer) len() int { return len(b.entries) }

// sort combines every key's values a last time and orders the keys by
// partition, then key, for partition.
func (b *combineBuffer) sort(c combiner, n int) error {
	for i := range b.slots {
		s := &b.slots[i]
		if b.group {
			b.closeRun(s)
			continue
		}
		// Every key goes through Combine, as it would in a sorted
		// spill, even one that has a single value.
		if s.key != 0 && (s.runN > 0 || b.entries[s.entry].runs > 0) {
			if err := b.combine(c, s); err != nil {
				return err
			}
		}
	}
	b.order = b.order[:0]
	for i := range b.entries {
		b.order = append(b.order, int32(i))
	}
	slices.SortFunc(b.order, func(x, y int32) int {
		ex, ey := &b.entries[x], &b.entries[y]
		if ex.part != ey.part {
			return cmp.Compare(ex.part, ey.part)
		}
		return strings.Compare(ex.key, ey.key)
	})
	b.parts = b.parts[:0]
	i := 0
	for p := range n {
		b.parts = append(b.parts, i)
		for i < len(b.order) && int(b.entries[b.order[i]].part) == p {
			i++
		}
	}
	b.parts = append(b.parts, len(b.order))
	return nil
}

// partition streams partition p's records; call sort first.
func (b *combineBuffer) partition(p int) stream {
	return &combineStream{b: b, order: b.order[b.parts[p]:b.parts[p+1]], i: -1}
}

// mostlyDistinct reports whether combining has not paid: most records
// had a key of their own. The task then sorts the rest of its output
// instead.
func (b *combineBuffer) mostlyDistinct() bool {
	return int64(len(b.entries)) > b.records/2
}

// unload calls fn for every buffered record, each key's values in
// order, and empties the buffer. It is for a group buffer, whose records
// are as emitted: when fn adds them to a sort buffer, which keeps equal
// keys in the order they are added, they come out of it as if they had
// gone there at first. The strings are valid only during the call.
func (b *combineBuffer) unload(fn func(part int, key, value string) error) error {
	for i := range b.slots {
		b.closeRun(&b.slots[i])
	}
	for i := range b.entries {
		e := &b.entries[i]
		for vals := e.vals; len(vals) > 0; {
			var n int
			var v []byte
			n, v, vals = nextRun(vals)
			for range n {
				if err := fn(int(e.part), e.key, unsafeString(v)); err != nil {
					return err
				}
			}
		}
	}
	b.reset()
	return nil
}

// reset empties the buffer for reuse. The table keeps its size unless it
// takes more than half the limit.
func (b *combineBuffer) reset() {
	if int64(len(b.slots))*slotCost > b.limit/2 {
		b.slots = nil
	}
	clear(b.slots)
	clear(b.entries) // drops the keys and value buffers
	b.entries = b.entries[:0]
	b.used, b.records = int64(len(b.slots))*slotCost, 0
	b.order, b.parts = b.order[:0], b.parts[:0]
}

// combineStream streams the values of a range of sorted keys; sort has
// closed every open run.
type combineStream struct {
	b     *combineBuffer
	order []int32
	i     int    // position in order
	rest  []byte // runs of order[i] not yet handed out
	left  int    // copies of value still to hand out
	key   []byte
	value []byte
}

func (s *combineStream) Next() bool {
	if s.left > 0 {
		s.left--
		return true
	}
	for len(s.rest) == 0 {
		if s.i+1 >= len(s.order) {
			s.i = len(s.order)
			return false
		}
		s.i++
		e := &s.b.entries[s.order[s.i]]
		s.rest = e.vals
		s.key = append(s.key[:0], e.key...)
	}
	s.left, s.value, s.rest = nextRun(s.rest)
	s.left--
	return true
}

func (s *combineStream) Key() []byte   { return s.key }
func (s *combineStream) Value() []byte { return s.value }
func (s *combineStream) Err() error    { return nil }
