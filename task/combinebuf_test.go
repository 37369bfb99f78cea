package task

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/task/spec"
)

// sumCombiner is word count's Combine over partitions chosen by the
// first byte of the key; it counts its calls.
type sumCombiner struct {
	parts int
	calls int
}

func (c *sumCombiner) partitionOf(key string) (int, error) {
	if key == "" {
		return 0, nil
	}
	return int(key[0]) % c.parts, nil
}

func (c *sumCombiner) combine(key string, values Values, emit Emit) error {
	c.calls++
	var n int64
	for v := range values {
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		n += i
	}
	emit(key, strconv.FormatInt(n, 10))
	return nil
}

// drain returns partition by partition the records of a sorted buffer.
func drain(b *combineBuffer, parts int) string {
	var out []string
	for p := range parts {
		s := b.partition(p)
		for s.Next() {
			out = append(out, fmt.Sprintf("%d/%s=%s", p, s.Key(), s.Value()))
		}
	}
	return strings.Join(out, " ")
}

func TestCombineBufferSumsAndSorts(t *testing.T) {
	c := &sumCombiner{parts: 2}
	b := newCombineBuffer(1 << 20)
	keys := []string{"b", "a", "", "a-long-key-of-many-bytes", "c", "a"}
	for i := range 1000 {
		k := keys[i%len(keys)]
		v := "1"
		if i%7 == 0 {
			v = "10" // a different value closes the run
		}
		if err := b.add(c, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.sort(c, 2); err != nil {
		t.Fatal(err)
	}
	// Expected sums, computed the slow way.
	want := map[string]int{}
	for i := range 1000 {
		n := 1
		if i%7 == 0 {
			n = 10
		}
		want[keys[i%len(keys)]] += n
	}
	got := drain(b, 2)
	exp := fmt.Sprintf("0/=%d 0/b=%d 1/a=%d 1/a-long-key-of-many-bytes=%d 1/c=%d",
		want[""], want["b"], want["a"], want["a-long-key-of-many-bytes"], want["c"])
	if got != exp {
		t.Fatalf("got  %s\nwant %s", got, exp)
	}
}

// TestCombineBufferCombinesRuns: Combine runs once combineBatch runs of a
// key's values have gathered, so a key whose values keep changing holds a
// bounded number of them; a value repeated without end is one run, which
// only the last Combine, when the buffer is written out, sees.
func TestCombineBufferCombinesRuns(t *testing.T) {
	for _, tc := range []struct {
		name     string
		value    func(i int) string
		min, max int
	}{
		{"alternating", func(i int) string { return strconv.Itoa(1 + i%2) }, 10000 / combineBatch, 10000/combineBatch + 1},
		{"long values", func(i int) string { return "000000000001" }, 10000 / combineBatch, 10000/combineBatch + 1},
		{"one run", func(int) string { return "1" }, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &sumCombiner{parts: 1}
			b := newCombineBuffer(1 << 20)
			want := 0
			for i := range 10000 {
				v := tc.value(i)
				n, _ := strconv.Atoi(v)
				want += n
				if err := b.add(c, "k", v); err != nil {
					t.Fatal(err)
				}
				if len(b.entries[0].vals) > 4*combineBatch*14 {
					t.Fatalf("after %d values the key holds %d bytes of values", i+1, len(b.entries[0].vals))
				}
			}
			if err := b.sort(c, 1); err != nil {
				t.Fatal(err)
			}
			if got, exp := drain(b, 1), fmt.Sprintf("0/k=%d", want); got != exp {
				t.Fatalf("got %s, want %s", got, exp)
			}
			if c.calls < tc.min || c.calls > tc.max {
				t.Fatalf("Combine ran %d times for 10000 values, want %d to %d", c.calls, tc.min, tc.max)
			}
		})
	}
}

func TestCombineBufferKeepsEveryValue(t *testing.T) {
	// A Combine that keeps values apart (it emits them all) sees each
	// exactly once per batch, long ones and repeated short ones alike.
	c := &sumCombiner{parts: 1}
	identity := combinerFunc{c, func(key string, values Values, emit Emit) error {
		for v := range values {
			emit(key, v)
		}
		return nil
	}}
	b := newCombineBuffer(1 << 20)
	var want []string
	for i := range 10 {
		v := strings.Repeat("x", i) // 0 to 9 bytes: in the slot and out of it
		for range 3 {
			if err := b.add(identity, "k", v); err != nil {
				t.Fatal(err)
			}
			want = append(want, "0/k="+v)
		}
	}
	if err := b.sort(identity, 1); err != nil {
		t.Fatal(err)
	}
	if got := drain(b, 1); got != strings.Join(want, " ") {
		t.Fatalf("got  %s\nwant %s", got, strings.Join(want, " "))
	}
}

// combinerFunc swaps the Combine of a combiner.
type combinerFunc struct {
	*sumCombiner
	fn func(key string, values Values, emit Emit) error
}

func (c combinerFunc) combine(key string, values Values, emit Emit) error {
	return c.fn(key, values, emit)
}

func TestCombineBufferBounded(t *testing.T) {
	const limit = 16 << 10
	c := &sumCombiner{parts: 3}
	b := newCombineBuffer(limit)
	spills := 0
	for i := range 20000 {
		if err := b.add(c, fmt.Sprintf("key%05d", i%3000), "1"); err != nil {
			t.Fatal(err)
		}
		if b.full() {
			if err := b.sort(c, 3); err != nil {
				t.Fatal(err)
			}
			if used := int64(len(b.slots))*slotCost + int64(cap(b.entries))*entryCost; used > 4*limit {
				t.Fatalf("%d bytes of table for a %d-byte limit", used, limit)
			}
			b.reset()
			spills++
		}
	}
	if spills < 10 {
		t.Fatalf("only %d spills with 3000 keys in a 16 KiB buffer", spills)
	}
	if !(&combineBuffer{records: 10, entries: make([]combineEntry, 9)}).mostlyDistinct() {
		t.Fatal("9 keys in 10 records is not mostly distinct")
	}
}

func TestCombineBufferErrors(t *testing.T) {
	c := &sumCombiner{parts: 1}
	renamer := combinerFunc{c, func(key string, values Values, emit Emit) error {
		emit(key+"x", "1")
		return nil
	}}
	b := newCombineBuffer(1 << 20)
	var err error
	for i := 0; i < combineBatch && err == nil; i++ {
		err = b.add(renamer, "k", strconv.Itoa(i)) // a run each
	}
	if !errors.Is(err, ErrCombineKey) {
		t.Fatalf("got %v, want ErrCombineKey", err)
	}
	b = newCombineBuffer(1 << 20)
	if err := b.add(c, "k", "not a number"); err != nil {
		t.Fatal(err)
	}
	if err := b.sort(c, 1); err == nil || !strings.Contains(err.Error(), `combine: key "k"`) {
		t.Fatalf("got %v, want the Combine's error naming the key", err)
	}
}

func TestPackShort(t *testing.T) {
	seen := map[uint64]string{}
	for _, s := range []string{"", "\x00", "\x00\x00", "a", "a\x00", "ab", "abcdefg", "\xff\xff\xff\xff\xff\xff\xff"} {
		p, ok := packShort(s)
		if !ok || p == 0 {
			t.Fatalf("packShort(%q) = %x, %v", s, p, ok)
		}
		if o, dup := seen[p]; dup {
			t.Fatalf("%q and %q pack alike", s, o)
		}
		seen[p] = s
		var buf [8]byte
		if back := string(unpackShort(&buf, p)); back != s {
			t.Fatalf("unpackShort(packShort(%q)) = %q", s, back)
		}
	}
	if _, ok := packShort("abcdefgh"); ok {
		t.Fatal("an 8-byte string packed")
	}
	if packKey("abcdefgh")&0xff != 0xff || packKey("abcdefghij") != packKey("abcdefgXYZ") {
		t.Fatal("long keys must pack their first 7 bytes and the marker")
	}
}

func TestKeyPrefix(t *testing.T) {
	slow := func(key string) uint64 {
		var p uint64
		for i := range 8 {
			p <<= 8
			if i < len(key) {
				p |= uint64(key[i])
			}
		}
		return p
	}
	for _, k := range []string{"", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "abcdefghij", "\xff\x00\x01"} {
		if keyPrefix(k) != slow(k) {
			t.Errorf("keyPrefix(%q) = %x, want %x", k, keyPrefix(k), slow(k))
		}
	}
}

// TestGroupBufferIsASort checks that grouping gives, record for record,
// what the sort buffer gives for the same emits — keys in order, each
// key's values in emit order — over keys short and long, values short,
// long and alternating (runs opening and closing), and several spills'
// worth of resets; and that unload hands a sort buffer the same records.
func TestGroupBufferIsASort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for round := range 40 {
		parts := 1 + rng.IntN(4)
		c := &sumCombiner{parts: parts}
		g, s, moved := newGroupBuffer(1<<30), newSortBuffer(1<<22), newGroupBuffer(1<<30)
		keys := []string{"", "a", "the", "seven77", "eight888", strings.Repeat("long", 9), strings.Repeat("long", 9) + "!"}
		for range 1 + rng.IntN(40) {
			keys = append(keys, fmt.Sprintf("k%d", rng.IntN(1000)))
		}
		values := []string{"1", "1", "1", "", "2", "a value longer than seven"}
		n := rng.IntN(3000)
		for i := range n {
			k := keys[rng.IntN(len(keys))]
			v := values[rng.IntN(len(values))]
			if rng.IntN(10) == 0 {
				v = strconv.Itoa(i) // a value of its own
			}
			p, _ := c.partitionOf(k)
			for _, b := range []*combineBuffer{g, moved} {
				if err := b.add(c, k, v); err != nil {
					t.Fatal(err)
				}
			}
			s.add(p, k, v)
		}
		if c.calls != 0 {
			t.Fatalf("a group buffer called Combine %d times", c.calls)
		}
		s.sort(parts)
		want := records(parts, s.partition)
		if err := g.sort(c, parts); err != nil {
			t.Fatal(err)
		}
		if got := records(parts, g.partition); !slices.Equal(got, want) {
			i := 0
			for i < min(len(got), len(want)) && got[i] == want[i] {
				i++
			}
			t.Fatalf("round %d, %d records: the group buffer gave %d records, the sort buffer %d; from record %d:\n%.200q\n%.200q",
				round, n, len(got), len(want), i, got[i:], want[i:])
		}
		s2 := newSortBuffer(1 << 22)
		if err := moved.unload(func(p int, k, v string) error { s2.add(p, k, v); return nil }); err != nil {
			t.Fatal(err)
		}
		if moved.len() != 0 {
			t.Fatalf("unload left %d keys behind", moved.len())
		}
		s2.sort(parts)
		if got := records(parts, s2.partition); !slices.Equal(got, want) {
			t.Fatalf("round %d: after unload the sort buffer gave\n%.300q\nwant\n%.300q", round, got, want)
		}
	}
}

// records lists partition by partition the records of a sorted buffer.
func records(parts int, partition func(int) stream) []string {
	var out []string
	for p := range parts {
		for s := partition(p); s.Next(); {
			out = append(out, fmt.Sprintf("%d/%s=%s", p, s.Key(), s.Value()))
		}
	}
	return out
}

// TestGroupBufferGivesWay: a map without a Combine keeps grouping while
// its keys repeat, and moves to the sort buffer once the first
// groupSample records are mostly distinct, with every record.
func TestGroupBufferGivesWay(t *testing.T) {
	for _, distinct := range []bool{false, true} {
		m := newMapOutput(&runner{cfg: &spec.Config{Reduces: 2}})
		for i := range groupSample + 10 {
			k := fmt.Sprintf("k%d", i%100)
			if distinct {
				k = fmt.Sprintf("k%d", i)
			}
			m.emit(k, "v")
		}
		if m.err() != nil {
			t.Fatal(m.err())
		}
		switch {
		case distinct && (m.comb != nil || m.buf == nil):
			t.Error("distinct keys: still grouping")
		case distinct && m.buf.len() != groupSample+10:
			t.Errorf("distinct keys: the sort buffer holds %d records, want %d", m.buf.len(), groupSample+10)
		case !distinct && (m.comb == nil || m.buf != nil):
			t.Error("repeated keys: the map stopped grouping")
		}
	}
}

// TestCombineBufferRunCountCannotWrap: a run's count stops short of
// wrapping; the next equal value opens another run.
func TestCombineBufferRunCountCannotWrap(t *testing.T) {
	c := &sumCombiner{parts: 1}
	b := newGroupBuffer(1 << 20)
	if err := b.add(c, "k", "1"); err != nil {
		t.Fatal(err)
	}
	var s *combineSlot
	for i := range b.slots {
		if b.slots[i].key != 0 {
			s = &b.slots[i]
		}
	}
	s.runN = math.MaxInt32 - 1 // as if emitted that often
	for range 3 {
		if err := b.add(c, "k", "1"); err != nil {
			t.Fatal(err)
		}
	}
	e := &b.entries[s.entry]
	n, v, rest := nextRun(e.vals)
	if n != math.MaxInt32 || string(v) != "1" || len(rest) != 0 || e.runs != 1 || s.runN != 2 {
		t.Fatalf("closed run %d × %q (rest %d bytes, %d runs), open run %d; want %d × \"1\" and 2 open",
			n, v, len(rest), e.runs, s.runN, math.MaxInt32)
	}
}

// TestCombineBufferKeysAlike: keys that share their first 7 or 14 bytes,
// or differ only in length or in a zero or 0xff byte, stay apart, however
// their two packed words and their full comparison split them. Small
// tables with fresh seeds, many times over, make such keys share probe
// chains.
func TestCombineBufferKeysAlike(t *testing.T) {
	keys := []string{"", "\x00", "abcdefg", "abcdefg\x00", "abcdefgh", "abcdefgh\x00", "abcdefg\xff",
		"abcdefghijklmn", "abcdefghijklm", "abcdefghijklmn\x00", "abcdefghijklmnX", "abcdefghijklmnY",
		"abcdefghijklmnXY", "abcdefghijklm\xff", "abcdefghijklm\xff\xff", "\xff\xff\xff\xff\xff\xff\xff\xff"}
	for trial := range 200 {
		group := trial%2 == 1
		c := &sumCombiner{parts: 1}
		b := newCombineBuffer(2048)
		if group {
			b = newGroupBuffer(2048)
		}
		want := map[string]int{}
		rng := rand.New(rand.NewPCG(3, 4))
		for range 500 {
			k := keys[rng.IntN(len(keys))]
			want[k]++
			if err := b.add(c, k, "1"); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.sort(c, 1); err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		s := b.partition(0)
		for s.Next() {
			n, _ := strconv.Atoi(string(s.Value()))
			got[string(s.Key())] += n
		}
		if b.len() != len(want) || !maps.Equal(got, want) {
			t.Fatalf("trial %d, group %v: %d entries, counts %v; want %v", trial, group, b.len(), got, want)
		}
	}
}
