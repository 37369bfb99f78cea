package task

import (
	"fmt"
	"slices"
	"testing"

	"github.com/distmr/dist/task/spec"
)

func TestRangePartition(t *testing.T) {
	cuts := []string{"b", "d", "d", "f"} // partition 2 lies between equal cuts: empty
	part := rangePartition(cuts)
	for key, want := range map[string]int{
		"": 0, "a": 0, "azzz": 0, "b": 1, "c": 1, "czz": 1,
		"d": 3, "d\x00": 3, "e": 3, "f": 4, "zz": 4, "\xff": 4,
	} {
		if got := part(key, len(cuts)+1); got != want {
			t.Errorf("partition of %q = %d, want %d", key, got, want)
		}
	}
	// Every key of partition i sorts before every key of partition i+1.
	keys := []string{"", "a", "b", "ba", "c", "d", "dd", "e", "f", "g", "\xff"}
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if part(keys[i-1], 5) > part(keys[i], 5) {
			t.Errorf("%q goes to %d, after %q in %d", keys[i-1], part(keys[i-1], 5), keys[i], part(keys[i], 5))
		}
	}
	if got := rangePartition(nil)("anything", 1); got != 0 {
		t.Errorf("no cuts: partition %d, want 0", got)
	}
}

func TestSamplerStaysBoundedAndSpread(t *testing.T) {
	s := &sampler{stride: 1}
	const n = 1_000_000
	for rec := int64(0); rec < n; rec++ {
		if s.keep(rec) {
			s.add(rec, []string{fmt.Sprintf("k%07d", rec)})
		}
	}
	keys := s.keys()
	if len(keys) > spec.SampleRecords || len(keys) < spec.SampleRecords/2 {
		t.Fatalf("%d keys sampled of %d records, want between %d and %d", len(keys), n, spec.SampleRecords/2, spec.SampleRecords)
	}
	// Spread over the whole split, not its head: the last quarter of the
	// records holds about a quarter of the sample.
	late := 0
	for _, k := range keys {
		if k >= fmt.Sprintf("k%07d", 3*n/4) {
			late++
		}
	}
	if late < len(keys)/5 || late > len(keys)/3 {
		t.Errorf("%d of %d sampled keys come from the last quarter of the split", late, len(keys))
	}
}

func TestSamplerBoundsOneHugeRecord(t *testing.T) {
	s := &sampler{stride: 1}
	big := make([]string, 100_000) // one wholefile record with many long words
	for i := range big {
		big[i] = fmt.Sprintf("%05d%s", i, string(make([]byte, 3000)))
	}
	s.add(0, big)
	s.add(1, []string{"x"})
	if s.nkeys > spec.SampleKeys || s.size > spec.SampleBytes {
		t.Fatalf("sample of %d keys, %d bytes: over the bounds", s.nkeys, s.size)
	}
	for _, k := range s.keys() {
		if len(k) > spec.SampleKeyBytes {
			t.Fatalf("sampled key of %d bytes, limit %d", len(k), spec.SampleKeyBytes)
		}
	}
}
