package client

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	artinfo "github.com/distmr/dist/internal/artifact"
)

// The cache answers for a file unchanged since it was hashed, and never
// for one written since, even when its size and mtime are put back.
func TestHashCache(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the hash cache identifies files on Linux only")
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(app, []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hash := func(c hashCache) string {
		t.Helper()
		sum, size, err := c.hash(app)
		if err != nil {
			t.Fatal(err)
		}
		want, wantSize, _ := artinfo.Hash(app)
		if size != wantSize {
			t.Fatalf("size %d, the file has %d", size, wantSize)
		}
		if sum != want {
			t.Fatalf("hash %s, the file hashes to %s", sum, want)
		}
		return sum
	}
	path := filepath.Join(dir, "cache", "program-hashes")
	fresh := hashCache{path: path, now: time.Now}
	later := hashCache{path: path, now: func() time.Time { return time.Now().Add(time.Minute) }}

	write("version 1")
	hash(fresh)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a file changed within racyWindow was remembered: %v", err)
	}
	sum := hash(later)
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasSuffix(b, []byte(" "+sum+"\n")) {
		t.Fatalf("cache file %q (%v): want an entry for %s", b, err, sum)
	}

	// An entry is what answers: one edited to another hash is returned
	// for the unchanged file.
	forged := strings.Repeat("0", 64)
	if err := os.WriteFile(path, bytes.Replace(b, []byte(sum), []byte(forged), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := later.hash(app); got != forged {
		t.Fatalf("got %s, want the cached %s", got, forged)
	}

	// The same size and mtime with other bytes: ctime tells. (The file
	// is written until its ctime ticks, as it would have in racyWindow.)
	st, _ := os.Stat(app)
	old, _ := identify(st)
	for id := old; id.ctime == old.ctime; {
		write("version 2")
		if err := os.Chtimes(app, st.ModTime(), st.ModTime()); err != nil {
			t.Fatal(err)
		}
		st2, _ := os.Stat(app)
		id, _ = identify(st2)
	}
	hash(later)

	// Torn and foreign lines are no hashes.
	if err := os.WriteFile(path, []byte("garbage\n1 2 3 4 5 abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hash(later)
	if b, _ := os.ReadFile(path); bytes.Count(b, []byte("\n")) != 3 {
		t.Fatalf("cache file %q: want the two old lines and a new entry", b)
	}
}

// Without a cache file every call hashes.
func TestHashCacheNone(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(app, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, _, err := hashCache{now: time.Now}.hash(app)
	want, _, _ := artinfo.Hash(app)
	if err != nil || sum != want {
		t.Fatalf("hash %s, %v; want %s", sum, err, want)
	}
}
