package client

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// alike gives every key the same weight.
func alike(keys []string) []sampleKey {
	out := make([]sampleKey, len(keys))
	for i, k := range keys {
		out[i] = sampleKey{k, 1}
	}
	return out
}

// Keys weigh what their split's bytes: a 64 MB split's 100 sampled keys
// take 64% of the cut points' share, a 36 MB one's 100 keys 36%, as
// sorting the whole file would.
func TestCutPointsWeighSplits(t *testing.T) {
	var keys []sampleKey
	for i := range 100 {
		keys = append(keys, sampleKey{fmt.Sprintf("a%03d", i), 64.0 / 100}, sampleKey{fmt.Sprintf("b%03d", i), 36.0 / 100})
	}
	if got, want := cutPoints(keys, 4), []string{"a039", "a078", "b030"}; !slices.Equal(got, want) {
		t.Errorf("cut points %q, want %q", got, want)
	}
}

func TestCutPointsAreQuantiles(t *testing.T) {
	var keys []string
	for c := 'a'; c <= 'z'; c++ {
		for range 4 {
			keys = append(keys, string(c))
		}
	}
	slices.Reverse(keys) // cutPoints sorts
	got := cutPoints(alike(keys), 4)
	if want := []string{"g", "n", "t"}; !slices.Equal(got, want) {
		t.Errorf("cut points %q, want %q", got, want)
	}
}

func TestCutPointsUnderSkew(t *testing.T) {
	// One key is 60% of the sample: it takes several equal cut points, the
	// parts between them stay empty and one reduce gets the key.
	keys := strings.Fields(strings.Repeat("hot ", 60) + strings.Repeat("a b c d e f g h i j k l m n o p q r s t ", 2))
	got := cutPoints(alike(keys), 5)
	if len(got) != 4 || !slices.IsSorted(got) {
		t.Fatalf("cut points %q: want 4, sorted", got)
	}
	if n := strings.Count(strings.Join(got, " "), "hot"); n < 2 {
		t.Errorf("cut points %q: the hot key should take at least 2", got)
	}
}

func TestCutPointsWithoutKeys(t *testing.T) {
	if got := cutPoints(nil, 3); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("cut points %q, want two empty ones", got)
	}
}

func TestSpreadSplits(t *testing.T) {
	for _, c := range []struct {
		n, k int
		want []int
	}{
		{1, 10, []int{0}},
		{3, 10, []int{0, 1, 2}},
		{100, 5, []int{0, 24, 49, 74, 99}},
	} {
		if got := spreadSplits(c.n, c.k); !slices.Equal(got, c.want) {
			t.Errorf("spreadSplits(%d, %d) = %v, want %v", c.n, c.k, got, c.want)
		}
	}
}

func TestSampleOfExecJobRunsTheMapper(t *testing.T) {
	p := &program{kind: proto.KindExec, parts: []part{
		{art: &artifact{SHA256: "mapper"}, role: proto.RoleMapper},
		{art: &artifact{SHA256: "reducer"}, role: proto.RoleReducer},
	}}
	if main, _ := p.refs(spec.PhaseSample); main.SHA256 != "mapper" {
		t.Errorf("a sample task runs %q, want the mapper", main.SHA256)
	}
}
