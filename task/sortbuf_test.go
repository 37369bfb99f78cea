package task

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSortBufferOrder(t *testing.T) {
	b := newSortBuffer(1 << 20)
	in := [][3]string{
		{"1", "b", "first b"}, {"0", "z", "z"}, {"1", "a", "a"}, {"1", "b", "second b"},
		{"2", "", "empty key"}, {"0", "y", "y"}, {"1", "b", "third b"},
	}
	for _, r := range in {
		b.add(int(r[0][0]-'0'), r[1], r[2])
	}
	b.sort(4)
	var got []string
	for p := range 4 {
		s := b.partition(p)
		for s.Next() {
			got = append(got, fmt.Sprintf("%d/%s=%s", p, s.Key(), s.Value()))
		}
	}
	want := "0/y=y 0/z=z 1/a=a 1/b=first b 1/b=second b 1/b=third b 2/=empty key"
	if strings.Join(got, " ") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestSortBufferBounded(t *testing.T) {
	const limit = 4 << 10
	b := newSortBuffer(limit)
	spills, records := 0, 0
	for i := range 10000 {
		key := fmt.Sprintf("key%05d", i)
		if !b.fits(len(key) + 1) {
			if len(b.mem) != limit {
				t.Fatalf("arena of %d bytes for a %d-byte limit", len(b.mem), limit)
			}
			if used := b.used + len(b.recs)*recCost; used < limit-(len(key)+1+recCost) {
				t.Fatalf("full at %d of %d bytes", used, limit)
			}
			b.reset()
			spills++
		}
		b.add(0, key, "1")
		records++
	}
	if spills < 50 {
		t.Fatalf("only %d spills of a 4 KiB buffer", spills)
	}
	// One record over the limit still fits, alone, in an arena of its
	// own, which is given back on reset.
	b.reset()
	if !b.fits(3 * limit) {
		t.Fatal("an empty buffer refused an oversized record")
	}
	b.add(0, "big", strings.Repeat("x", 3*limit))
	if b.fits(1) {
		t.Fatal("a record fits beside an oversized one")
	}
	if s := b.partition; s == nil || string(b.value(b.recs[0])) != strings.Repeat("x", 3*limit) {
		t.Fatal("the oversized record was not kept whole")
	}
	b.reset()
	if b.mem != nil {
		t.Fatalf("reset kept the oversized record's %d bytes", len(b.mem))
	}
}

func TestSortBufferPrefixes(t *testing.T) {
	keys := []string{"", "\x00", "a", "a\x00", "a\x00b", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgi", "b", "\xff"}
	b := newSortBuffer(1 << 20)
	for i := len(keys) - 1; i >= 0; i-- {
		b.add(0, keys[i], "")
	}
	b.sort(1)
	s := b.partition(0)
	for i := 0; s.Next(); i++ {
		if string(s.Key()) != keys[i] {
			t.Fatalf("position %d: %q, want %q", i, s.Key(), keys[i])
		}
	}
}

// TestSortBufferRandom checks the radix sort against a plain stable sort
// on many shapes of input: few and many records (around the insertion
// threshold), keys short and long, keys that differ only past their
// packed part or in a zero byte, heavy duplicates, one partition or many.
func TestSortBufferRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	alphabets := []string{"ab", "\x00\x01\xff", "abcdefghijklmnopqrstuvwxyz"}
	for round := range 300 {
		n := []int{0, 1, 2, 31, 32, 33, 100, 1000, 5000}[round%9]
		parts := 1 + rng.IntN(5)
		alpha := alphabets[rng.IntN(len(alphabets))]
		maxLen := []int{1, 7, 8, 9, 20}[rng.IntN(5)]
		common := strings.Repeat("p", rng.IntN(12)) // a shared beginning, often past the packed part
		type rec struct {
			part       int
			key, value string
		}
		var in []rec
		b := newSortBuffer(1 << 22)
		for i := range n {
			k := make([]byte, rng.IntN(maxLen+1))
			for j := range k {
				k[j] = alpha[rng.IntN(len(alpha))]
			}
			r := rec{rng.IntN(parts), common + string(k), fmt.Sprint(i)}
			if i > 0 && rng.IntN(3) == 0 { // a duplicate key
				r.key = in[rng.IntN(i)].key
			}
			in = append(in, r)
			b.add(r.part, r.key, r.value)
		}
		want := slices.Clone(in)
		slices.SortStableFunc(want, func(x, y rec) int {
			return cmp.Or(cmp.Compare(x.part, y.part), strings.Compare(x.key, y.key))
		})
		b.sort(parts)
		var got []rec
		for p := range parts {
			for s := b.partition(p); s.Next(); {
				got = append(got, rec{p, string(s.Key()), string(s.Value())})
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d (%d records, %d partitions, alphabet %q, keys up to %d+%d bytes): sorted wrong",
				round, n, parts, alpha, len(common), maxLen)
		}
	}
}

func TestEachGroup(t *testing.T) {
	b := newSortBuffer(1 << 20)
	for _, kv := range []string{"a=1", "b=1", "b=2", "b=3", "c=1", "d=1", "d=2"} {
		k, v, _ := strings.Cut(kv, "=")
		b.add(0, k, v)
	}
	b.sort(1)
	var got []string
	err := eachGroup(b.partition(0), func(key string, values Values) error {
		for v := range values {
			got = append(got, key+v)
			if key == "b" || key == "d" {
				break // read one value only
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "a1 b1 c1 d1" {
		t.Fatalf("got %v", got)
	}
}

func TestHashPartition(t *testing.T) {
	for _, key := range []string{"", "a", "the", "\xff\x00 binary", strings.Repeat("long", 100)} {
		h := fnv.New32a()
		h.Write([]byte(key))
		for _, n := range []int{1, 3, 7, 1000} {
			if got, want := HashPartition(key, n), int(h.Sum32()%uint32(n)); got != want {
				t.Errorf("HashPartition(%q, %d) = %d, want FNV-1a mod n = %d", key, n, got, want)
			}
		}
	}
	// Pinned values: a change here breaks jobs that mix dist versions.
	if HashPartition("hello", 10) != 3 || HashPartition("world", 10) != 7 {
		t.Errorf("HashPartition changed: hello→%d world→%d", HashPartition("hello", 10), HashPartition("world", 10))
	}
}
