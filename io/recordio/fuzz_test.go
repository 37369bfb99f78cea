package recordio

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to a Reader: it must fail with one of
// its own errors or decode records that re-encode to the same records, and
// never hand out a record over its limit.
func FuzzReader(f *testing.F) {
	f.Add(encode(f, sample()[:5]))
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		r := NewReaderSize(bytes.NewReader(data), 16)
		r.MaxRecord = limit
		var recs []record
		for {
			k, v, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				return
			}
			if len(k)+len(v) > limit {
				t.Fatalf("record of %d bytes passed a %d-byte limit", len(k)+len(v), limit)
			}
			recs = append(recs, record{string(k), string(v)})
		}
		if r.Offset() != int64(len(data)) {
			t.Fatalf("clean EOF after %d of %d bytes", r.Offset(), len(data))
		}
		again, err := decode(t, NewReader(bytes.NewReader(encode(t, recs))))
		if err != nil {
			t.Fatalf("re-encoded records do not decode: %v", err)
		}
		if len(again) != len(recs) {
			t.Fatalf("re-encoding changed the record count: %d, was %d", len(again), len(recs))
		}
		for i := range recs {
			if again[i] != recs[i] {
				t.Fatalf("record %d changed: %q, was %q", i, again[i], recs[i])
			}
		}
	})
}
