package input

import (
	"errors"
	"fmt"
	"io"
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

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// One line as long as the split is one part, found without reading the
// split once per point; a split cut short underneath is an ErrSplitSize.
func TestSpreadOneLongLine(t *testing.T) {
	data := strings.Repeat("x", 1<<20) + "\nlast\n"
	src := &countingReaderAt{r: strings.NewReader(data)}
	parts, _, err := Spread(Split{Source: src, Name: "in.txt", Length: int64(len(data))}, 32)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || parts[0].Offset != 0 || parts[1].Offset != 1<<20+1 {
		t.Fatalf("parts %+v", parts)
	}
	if src.n > int64(len(data)) {
		t.Fatalf("read %d bytes to spread a split of %d", src.n, len(data))
	}
	short := Split{Source: strings.NewReader(data[:1000]), Name: "in.txt", Length: int64(len(data))}
	if _, _, err := Spread(short, 4); !errors.Is(err, ErrSplitSize) {
		t.Fatalf("a split cut short: %v", err)
	}
}
