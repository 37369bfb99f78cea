package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func gzipped(tb testing.TB, data string) string {
	tb.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(data)); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

func zstded(tb testing.TB, data string) string {
	tb.Helper()
	w, err := zstd.NewWriter(nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.Close()
	return string(w.EncodeAll([]byte(data), nil))
}

// Every format reads the decompressed stream; text keys are offsets in it.
func TestCompressedFormats(t *testing.T) {
	const data = "first line\r\nkey\tvalue\n\nlast, no newline"
	for _, c := range []struct {
		name string
		enc  func(testing.TB, string) string
	}{{"in.txt.gz", gzipped}, {"in.txt.zst", zstded}} {
		t.Run(c.name, func(t *testing.T) {
			s := split(t, c.name, c.enc(t, data), 0)
			check(t, Text{}, s, []kv{{"0", "first line"}, {"12", "key\tvalue"}, {"22", ""}, {"23", "last, no newline"}})
			check(t, KV{}, s, []kv{{"first line", ""}, {"key", "value"}, {"", ""}, {"last, no newline", ""}})
			check(t, WholeFile{}, s, []kv{{c.name, data}})
		})
	}
}

func TestCompressedWholeFileLimit(t *testing.T) {
	s := split(t, "big.gz", gzipped(t, strings.Repeat("x", 1000)), 0)
	if _, err := readAll(t, WholeFile{MaxSize: 999}, s); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

// A corrupt or truncated stream is ErrCorrupt, in one line naming the file.
func TestCorruptCompressed(t *testing.T) {
	data := strings.Repeat("a line of text that compresses\n", 2000)
	gz, zs := gzipped(t, data), zstded(t, data)
	flip := func(s string, at int) string {
		b := []byte(s)
		b[at] ^= 0xff
		return string(b)
	}
	for _, c := range []struct{ name, bytes string }{
		{"cut.gz", gz[:len(gz)/2]},
		{"trailer.gz", flip(gz, len(gz)-6)},
		{"header.gz", flip(gz, 0)},
		{"empty.gz", ""},
		{"cut.zst", zs[:len(zs)/2]},
		{"header.zst", flip(zs, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range []Format{Text{}, KV{}, WholeFile{}} {
				_, err := readAll(t, f, split(t, c.name, c.bytes, 0))
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%T: err = %v, want ErrCorrupt", f, err)
				}
				if msg := err.Error(); strings.Count(msg, c.name) != 1 || strings.Contains(msg, "\n") {
					t.Fatalf("%T: want one line naming %s once, got %q", f, c.name, msg)
				}
			}
		})
	}
}

func TestCompressedSplitAtOffset(t *testing.T) {
	s := split(t, "in.gz", gzipped(t, "x\n"), 10)
	if _, err := readAll(t, Text{}, s); !errors.Is(err, ErrSplitSize) {
		t.Fatalf("err = %v, want ErrSplitSize", err)
	}
}

func TestCompressedName(t *testing.T) {
	for name, want := range map[string]bool{"a.gz": true, "a.txt.zst": true, "a.txt": false, "a.gzip": false, "a.gz.txt": false} {
		if Compressed(name) != want {
			t.Errorf("Compressed(%q) = %v", name, !want)
		}
	}
}

// failingFile fails every read, as a disk error would.
type failingFile struct{}

func (failingFile) Read([]byte) (int, error) { return 0, errors.New("input/output error") }
func (failingFile) Close() error             { return nil }

// An error reading the file is not called corrupt data (nor fatal).
func TestDecompressReadError(t *testing.T) {
	for _, name := range []string{"x.gz", "x.zst"} {
		r, err := Decompress(name, failingFile{})
		if err == nil {
			_, err = r.Read(make([]byte, 10))
		}
		if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "input/output error") {
			t.Errorf("%s: %v, want the read error, not ErrCorrupt", name, err)
		}
	}
}
