package output

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	var buf bytes.Buffer
	w, err := Defaults()["text"].NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{{"the", "42"}, {"", "empty key"}, {"k", ""}} {
		if err := w.Write(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Error("text writer did not buffer")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "the\t42\n\tempty key\nk\t\n"; buf.String() != want {
		t.Fatalf("wrote %q, want %q", buf.String(), want)
	}
	if err := w.Write("late", "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestTextCloseReportsFlushError(t *testing.T) {
	w, _ := Text{}.NewWriter(brokenWriter{})
	if err := w.Write("k", "v"); err != nil {
		t.Fatalf("buffered write failed early: %v", err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the flush error", err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("second Close forgot the error")
	}
}

func TestLookup(t *testing.T) {
	fs := Defaults()
	if _, err := fs.Lookup(""); err != nil {
		t.Fatal(err)
	}
	_, err := fs.Lookup("json")
	if !errors.Is(err, ErrUnknownFormat) || err.Error() != `unknown output format "json" (known: text)` {
		t.Fatalf("got %v", err)
	}
}
