package input

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Each part Spread makes, read to its end, is exactly what the whole split
// yields from one of its records on, under Text and KV alike, staged and in
// place; the parts start in order, the first at the split's start, and
// each no earlier than its point. Lines longer than the gap between two
// points, empty lines, "\r\n" and a last line without "\n" included.
func TestSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("before the split\n")
	const off = 17
	for i := range 400 {
		switch {
		case i%97 == 0:
			b.WriteString(strings.Repeat("long ", 2000) + "\n")
		case i%13 == 0:
			b.WriteString("\n")
		case i%11 == 0:
			fmt.Fprintf(&b, "k%d\tv%d\r\n", i, rng.IntN(1000))
		default:
			fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("x", rng.IntN(200)))
		}
	}
	b.WriteString("last line, no newline")
	data := b.String()
	body := data[off:]
	for _, f := range []Format{Text{}, KV{}} {
		for _, where := range []string{"staged", "in place"} {
			s := split(t, "in.txt", body, off)
			if where == "in place" {
				s = inPlaceSplit("in.txt", data, off, int64(len(body)))
			}
			whole, err := readAll(t, f, s)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 2, 7, 64, 500} {
				parts, release, err := Spread(s, n)
				if err != nil {
					t.Fatal(err)
				}
				if len(parts) == 0 || len(parts) > n || parts[0].Offset != off {
					t.Fatalf("%T %s n=%d: %d parts, first at %d", f, where, n, len(parts), parts[0].Offset)
				}
				prev := int64(-1)
				for i, p := range parts {
					if p.Offset <= prev || p.Offset+p.Length != off+int64(len(body)) {
						t.Fatalf("%T %s n=%d: part %d is [%d, %d) after one at %d", f, where, n, i, p.Offset, p.Offset+p.Length, prev)
					}
					if data[p.Offset-1] != '\n' {
						t.Fatalf("%T %s n=%d: part %d starts at %d, inside a line", f, where, n, i, p.Offset)
					}
					prev = p.Offset
					got, err := readAll(t, f, p)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) == 0 || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", whole[len(whole)-len(got):]) {
						t.Fatalf("%T %s n=%d: part %d (at %d) read %d records, not a tail of the split's %d",
							f, where, n, i, p.Offset, len(got), len(whole))
					}
				}
				if err := release(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// A compressed input cannot be entered in the middle: no parts.
func TestSpreadCompressed(t *testing.T) {
	parts, release, err := Spread(Split{Path: "unused", Name: "in.txt.gz"}, 8)
	if err != nil || parts != nil {
		t.Fatalf("Spread of a .gz = %v, %v", parts, err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

// A staged file of the wrong size is refused as open refuses it.
func TestSpreadStagedShort(t *testing.T) {
	s := split(t, "in.txt", "a\nb\n", 0)
	s.Length = 10
	if _, _, err := Spread(s, 2); err == nil || !strings.Contains(err.Error(), "not staged completely") {
		t.Fatalf("got %v", err)
	}
}
