package storage

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// splitAll cuts data at every multiple of size and reads each range with
// OwnedLines and with Cut; both must give every line exactly once.
func splitAll(t *testing.T, data []byte, size int64) {
	t.Helper()
	total := int64(len(data))
	var viaStream, viaCut []byte
	for off := int64(0); off < total || off == 0; off += size {
		n := min(size, total-off)
		lr := OwnedLines(bytes.NewReader(data[max(off-1, 0):]), off, n)
		got, err := io.ReadAll(lr)
		if err != nil {
			t.Fatalf("size %d off %d: %v", size, off, err)
		}
		start, end, err := Cut(bytes.NewReader(data), total, off, n)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data[start:end]) {
			t.Fatalf("size %d off %d: stream gave %q at %d, Cut gave [%d,%d) %q", size, off, got, lr.Start(), start, end, data[start:end])
		}
		if len(got) > 0 && lr.Start() != start {
			t.Fatalf("size %d off %d: Start %d, Cut start %d", size, off, lr.Start(), start)
		}
		viaStream = append(viaStream, got...)
		viaCut = append(viaCut, data[start:end]...)
		if total == 0 {
			break
		}
	}
	if !bytes.Equal(viaStream, data) || !bytes.Equal(viaCut, data) {
		t.Fatalf("size %d: the splits do not add up to the data:\n%q\n%q\n%q", size, viaStream, viaCut, data)
	}
}

func TestLineRuleEdges(t *testing.T) {
	cases := map[string]string{
		"empty":                    "",
		"one line":                 "abc\n",
		"no trailing newline":      "abc\ndef",
		"line ends at an edge":     "abcd\nefgh\nijkl\n", // with size 5 every line ends exactly at an edge
		"line longer than a split": "a\n" + string(bytes.Repeat([]byte("x"), 40)) + "\nb\n",
		"crlf":                     "ab\r\ncd\r\nef\r\n",
		"only newlines":            "\n\n\n\n\n",
		"long last line":           "a\nbbbbbbbbbbbbbbbbbbbbbbbbb",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			for size := int64(1); size <= int64(len(s))+2; size++ {
				splitAll(t, []byte(s), size)
			}
		})
	}
}

func TestLineRuleRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		var b bytes.Buffer
		for range rng.IntN(30) {
			fmt.Fprintf(&b, "%s", bytes.Repeat([]byte{'a' + byte(trial%26)}, rng.IntN(20)))
			if rng.IntN(5) > 0 {
				b.WriteByte('\n')
			}
		}
		splitAll(t, b.Bytes(), 1+rng.Int64N(25))
	}
}

// A line longer than the reader's buffer is still read whole, at the
// start (skipped) and at the end (finished).
func TestLineRuleLongLines(t *testing.T) {
	long := bytes.Repeat([]byte("y"), 200<<10)
	data := append(append(append([]byte("head\n"), long...), '\n'), append(long, []byte("\ntail\n")...)...)
	splitAll(t, data, 100<<10)
	splitAll(t, data, 9973)
}

// A small read buffer does not change what is read.
func TestLineRuleSmallReads(t *testing.T) {
	data := []byte("alpha\nbeta\ngamma\ndelta\n")
	lr := OwnedLines(bytes.NewReader(data[2:]), 3, 5) // owns "beta\n" (starts at 6)
	var got []byte
	p := make([]byte, 1)
	for {
		n, err := lr.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "beta\n" || lr.Start() != 6 {
		t.Fatalf("got %q at %d, want \"beta\\n\" at 6", got, lr.Start())
	}
}
