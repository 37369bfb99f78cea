package input

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// inPlaceSplit returns a Split of data[off:off+n] read in place from all of data.
func inPlaceSplit(name, data string, off, n int64) Split {
	return Split{Source: strings.NewReader(data), Name: name, Offset: off, Length: n}
}

// Every format reads a range in place exactly as it reads the same bytes
// staged: text keys count from the range's offset in the original.
func TestInPlaceSameAsStaged(t *testing.T) {
	const data = "skip me\r\nfirst\r\nkey\tvalue\n\nlast, no newline"
	const off = 9
	body := data[off:]
	for name, f := range Defaults() {
		staged, err := readAll(t, f, split(t, "in.txt", body, off))
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, f, inPlaceSplit("in.txt", data, off, int64(len(body))))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", staged) {
			t.Fatalf("%s: in place %q, staged %q", name, got, staged)
		}
	}
	check(t, Text{}, inPlaceSplit("in.txt", data, off, 7), []kv{{"9", "first"}})
}

// Length 0 in place is an empty split, not the whole input.
func TestInPlaceEmpty(t *testing.T) {
	check(t, Text{}, inPlaceSplit("in.txt", "a\nb\n", 2, 0), nil)
	check(t, WholeFile{}, inPlaceSplit("in.txt", "a\nb\n", 0, 0), []kv{{"in.txt", ""}})
}

func TestInPlaceCompressed(t *testing.T) {
	const data = "one\ntwo\n"
	for _, c := range []struct {
		name string
		enc  func(testing.TB, string) string
	}{{"in.txt.gz", gzipped}, {"in.txt.zst", zstded}} {
		z := c.enc(t, data)
		check(t, Text{}, inPlaceSplit(c.name, z, 0, int64(len(z))), []kv{{"0", "one"}, {"4", "two"}})
		check(t, WholeFile{}, inPlaceSplit(c.name, z, 0, int64(len(z))), []kv{{c.name, data}})
		if _, err := readAll(t, Text{}, inPlaceSplit(c.name, z, 3, 4)); !errors.Is(err, ErrSplitSize) {
			t.Fatalf("%s at an offset: %v, want ErrSplitSize", c.name, err)
		}
	}
}

// An input shorter than its split (cut while the job ran) fails every
// format with ErrSplitSize naming it, instead of giving a shorter split.
func TestInPlaceCutShort(t *testing.T) {
	data := "abc\ndef\n" + strings.Repeat("x", 100<<10)
	for name, f := range Defaults() {
		_, err := readAll(t, f, inPlaceSplit("cut.txt", data, 4, int64(len(data))))
		if !errors.Is(err, ErrSplitSize) || !strings.Contains(err.Error(), "cut.txt ends at byte") {
			t.Errorf("%s: %v, want ErrSplitSize naming cut.txt", name, err)
		}
	}
}

// The reader leaves the source open: its owner closes it.
func TestInPlaceDoesNotClose(t *testing.T) {
	src := &closeCounter{Reader: bytes.NewReader([]byte("x\n"))}
	check(t, Text{}, Split{Source: src, Name: "x", Length: 2}, []kv{{"0", "x"}})
	if src.closed {
		t.Fatal("the reader closed its Source")
	}
}

type closeCounter struct {
	*bytes.Reader
	closed bool
}

func (c *closeCounter) Close() error { c.closed = true; return nil }
