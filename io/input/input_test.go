package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type kv struct{ key, value string }

// split writes data to a temp file and returns a Split over it.
func split(tb testing.TB, name, data string, offset int64) Split {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "split")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
	return Split{Path: path, Name: name, Offset: offset, Length: int64(len(data))}
}

func readAll(tb testing.TB, f Format, s Split) ([]kv, error) {
	tb.Helper()
	r, err := f.Open(s)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	}()
	var got []kv
	for {
		k, v, err := r.Next()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, kv{k, v})
	}
}

func check(tb testing.TB, f Format, s Split, want []kv) {
	tb.Helper()
	got, err := readAll(tb, f, s)
	if err != nil {
		tb.Fatal(err)
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		tb.Fatalf("records:\n got %q\nwant %q", got, want)
	}
}

func TestText(t *testing.T) {
	cases := []struct {
		name   string
		data   string
		offset int64
		want   []kv
	}{
		{"empty", "", 0, nil},
		{"lines", "one\ntwo\n", 0, []kv{{"0", "one"}, {"4", "two"}}},
		{"no final newline", "one\ntwo", 0, []kv{{"0", "one"}, {"4", "two"}}},
		{"crlf", "one\r\ntwo\r\n", 0, []kv{{"0", "one"}, {"5", "two"}}},
		{"empty lines", "\n\nx\n", 0, []kv{{"0", ""}, {"1", ""}, {"2", "x"}}},
		{"lone cr kept inside", "a\rb\n", 0, []kv{{"0", "a\rb"}}},
		{"split offset", "one\ntwo\n", 1000, []kv{{"1000", "one"}, {"1004", "two"}}},
		{"only newline", "\n", 7, []kv{{"7", ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, Text{}, split(t, "in.txt", c.data, c.offset), c.want)
		})
	}
}

func TestTextLongLinesAcrossBuffer(t *testing.T) {
	long := strings.Repeat("x", 3*lineBuffer+17)
	data := "a\n" + long + "\r\nb"
	check(t, Text{}, split(t, "in.txt", data, 10), []kv{
		{"10", "a"}, {"12", long}, {fmt.Sprint(12 + len(long) + 2), "b"},
	})
}

func TestTextLineTooLong(t *testing.T) {
	for _, data := range []string{
		"ok\n" + strings.Repeat("x", 11) + "\nok\n",
		"ok\n" + strings.Repeat("x", 11),
		"ok\n" + strings.Repeat("x", lineBuffer+5) + "\n",
	} {
		_, err := readAll(t, Text{MaxLine: 10}, split(t, "big.txt", data, 100))
		if !errors.Is(err, ErrLineTooLong) {
			t.Fatalf("got %v, want ErrLineTooLong", err)
		}
		if !strings.Contains(err.Error(), "byte 103 of big.txt") {
			t.Errorf("error does not name the line's offset and input: %v", err)
		}
	}
	check(t, Text{MaxLine: 10}, split(t, "in.txt", strings.Repeat("x", 10)+"\r\n", 0),
		[]kv{{"0", strings.Repeat("x", 10)}})
}

func TestKV(t *testing.T) {
	data := "k1\tv1\nk2\tv\twith\ttabs\r\nlonely\n\tnokey\nlast\tline"
	check(t, KV{}, split(t, "in.kv", data, 50), []kv{
		{"k1", "v1"}, {"k2", "v\twith\ttabs"}, {"lonely", ""}, {"", "nokey"}, {"last", "line"},
	})
}

func TestWholeFile(t *testing.T) {
	data := "line one\r\nline two\n\x00binary"
	check(t, WholeFile{}, split(t, "dir/doc.txt", data, 0), []kv{{"dir/doc.txt", data}})
	check(t, WholeFile{}, split(t, "empty.txt", "", 0), []kv{{"empty.txt", ""}})

	_, err := readAll(t, WholeFile{MaxSize: 4}, split(t, "big.bin", "12345", 0))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "big.bin") {
		t.Fatalf("got %v, want ErrTooLarge naming big.bin", err)
	}
}

func TestSplitSizeMismatch(t *testing.T) {
	s := split(t, "short.txt", "abc\n", 0)
	s.Length = 100
	for name, f := range Defaults() {
		if _, err := readAll(t, f, s); !errors.Is(err, ErrSplitSize) {
			t.Errorf("%s: got %v, want ErrSplitSize", name, err)
		}
	}
	s.Length = 0 // zero means "the whole file"
	check(t, Text{}, s, []kv{{"0", "abc"}})
}

func TestMissingFile(t *testing.T) {
	s := Split{Path: filepath.Join(t.TempDir(), "nope"), Name: "nope"}
	if _, err := (Text{}).Open(s); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want a not-exist error", err)
	}
}

func TestLookup(t *testing.T) {
	fs := Defaults()
	for _, name := range []string{"", "text", "wholefile", "kv"} {
		if _, err := fs.Lookup(name); err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
		}
	}
	_, err := fs.Lookup("x")
	if !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("got %v, want ErrUnknownFormat", err)
	}
	if want := `unknown input format "x" (known: kv, text, wholefile)`; err.Error() != want {
		t.Errorf("error text %q, want %q", err, want)
	}
	fs["kv"] = nil // a nil entry hides a format
	if _, err := fs.Lookup("kv"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("nil format found: %v", err)
	}
	if d := Defaults(); d["kv"] == nil {
		t.Error("Defaults shares state between calls")
	}
}
