package named

import (
	"errors"
	"slices"
	"testing"
)

var errUnknown = errors.New("unknown thing")

func TestLookup(t *testing.T) {
	m := map[string]error{"a": errors.New("A"), "b": errors.New("B"), "gone": nil}
	if v, err := Lookup(m, "", "b", errUnknown); err != nil || v.Error() != "B" {
		t.Fatalf("the empty name: %v, %v; want the default", v, err)
	}
	if v, err := Lookup(m, "a", "b", errUnknown); err != nil || v.Error() != "A" {
		t.Fatalf("a: %v, %v", v, err)
	}
	for _, name := range []string{"x", "gone"} {
		_, err := Lookup(m, name, "b", errUnknown)
		if want := `unknown thing "` + name + `" (known: a, b)`; !errors.Is(err, errUnknown) || err.Error() != want {
			t.Errorf("%s: %v, want %s", name, err, want)
		}
	}
	if got := Names(m); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Names = %v, want [a b]: a nil entry has no name", got)
	}
}
