package recordio

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkWrite(b *testing.B) {
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	b.SetBytes(int64(len("someword") + len("1") + 2))
	for range b.N {
		w.WriteString("someword", "1")
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for range 10000 {
		w.WriteString("someword", "1")
	}
	w.Close()
	data := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for range b.N {
		r := NewReader(bytes.NewReader(data))
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
