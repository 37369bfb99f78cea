package recordio

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

type record struct{ key, value string }

func encode(tb testing.TB, recs []record) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range recs {
		if err := w.WriteString(r.key, r.value); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func decode(tb testing.TB, r *Reader) ([]record, error) {
	tb.Helper()
	var recs []record
	for {
		k, v, err := r.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, record{string(k), string(v)})
	}
}

func sample() []record {
	return []record{
		{"", ""},
		{"a", ""},
		{"", "b"},
		{"key", "value"},
		{"tab\tnewline\n", "\x00\xff binary"},
		{strings.Repeat("k", 300), strings.Repeat("v", 3000)},
	}
}

func TestRoundTrip(t *testing.T) {
	recs := append(sample(), record{"large", strings.Repeat("v", 3<<20)})
	data := encode(t, recs)
	got, err := decode(t, NewReaderSize(bytes.NewReader(data), 16))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(recs) {
		t.Fatalf("round trip changed the records:\n got %q\nwant %q", got, recs)
	}
}

func TestWriterCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sample() {
		if err := w.Write([]byte(r.key), []byte(r.value)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if w.Records() != int64(len(sample())) {
		t.Errorf("Records() = %d, want %d", w.Records(), len(sample()))
	}
	if w.Size() != int64(len(data)) {
		t.Errorf("Size() = %d, file has %d bytes", w.Size(), len(data))
	}
	if want := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)); w.CRC32C() != want {
		t.Errorf("CRC32C() = %08x, want %08x", w.CRC32C(), want)
	}
	if !bytes.Equal(data, encode(t, sample())) {
		t.Error("Write and WriteString encode differently")
	}
	if err := w.WriteString("late", ""); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
}

func TestEmptyFile(t *testing.T) {
	r := NewReader(bytes.NewReader(nil))
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("empty input: %v, want io.EOF", err)
	}
}

func TestTruncated(t *testing.T) {
	data := encode(t, sample())
	// Every proper prefix that does not end on a record boundary is
	// truncated; the boundaries decode cleanly to fewer records.
	boundaries := map[int]bool{0: true}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range sample() {
		w.WriteString(r.key, r.value)
		w.Flush()
		boundaries[buf.Len()] = true
	}
	for n := 0; n < len(data); n++ {
		_, err := decode(t, NewReader(bytes.NewReader(data[:n])))
		if boundaries[n] {
			if err != nil {
				t.Fatalf("prefix %d on a record boundary: %v", n, err)
			}
			continue
		}
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix of %d bytes: %v, want ErrTruncated", n, err)
		}
		if n == 3 && !strings.Contains(err.Error(), "cut short") {
			t.Errorf("error does not say what happened: %v", err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	data := encode(t, []record{{"small", "x"}, {"big", strings.Repeat("v", 1000)}})
	r := NewReader(bytes.NewReader(data))
	r.MaxRecord = 100
	got, err := decode(t, r)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if len(got) != 1 || !strings.Contains(err.Error(), "record 1 at byte 8") {
		t.Errorf("error should name record 1 at byte 8 after one good record: %v (read %d)", err, len(got))
	}
	if _, _, again := r.Next(); again != err {
		t.Errorf("error is not sticky: %v", again)
	}

	w := NewWriter(io.Discard)
	w.MaxRecord = 10
	if err := w.WriteString("0123456", "789ab"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("writer accepted an oversized record: %v", err)
	}
}

func TestLyingLengthAllocatesLittle(t *testing.T) {
	// A key length of 60 MiB followed by 10 bytes: the reader must fail as
	// truncated without allocating 60 MiB.
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.putLen(60 << 20)
	w.Flush()
	buf.WriteString("0123456789")
	data := buf.Bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		_, _, err := NewReader(bytes.NewReader(data)).Next()
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("got %v, want ErrTruncated", err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("5 reads of a lying 60 MiB length allocated %d bytes", grew)
	}
}

func TestOverflow(t *testing.T) {
	data := bytes.Repeat([]byte{0xff}, 11)
	_, _, err := NewReader(bytes.NewReader(data)).Next()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		n := f.n
		f.n = 0
		return n, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestCloseReportsFlushError(t *testing.T) {
	w := NewWriter(&failWriter{n: 5})
	if err := w.WriteString("key", "value"); err != nil {
		t.Fatalf("buffered write failed early: %v", err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the flush error", err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("second Close forgot the error")
	}
}
