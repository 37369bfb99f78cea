package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// compressCopy writes a .gz (or .zst) copy of src into dir.
func compressCopy(t *testing.T, src, dir, ext string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	switch ext {
	case ".gz":
		w := gzip.NewWriter(&b)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case ".zst":
		w, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(w.EncodeAll(data, nil))
		w.Close()
	}
	dst := filepath.Join(dir, filepath.Base(src)+ext)
	if err := os.WriteFile(dst, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// A word count over .gz and .zst copies of the books gives the plain
// books' answer, one map per file although each is over --split-size.
func TestCompressedInput(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	dir := t.TempDir()
	for i, b := range books {
		compressCopy(t, b, dir, []string{".gz", ".zst"}[i%2])
	}
	out := filepath.Join(t.TempDir(), "out")
	r := mustRun(t, "run", "--local", "2", "--app", env.App(t, "wordcount"),
		"--input", filepath.Join(dir, "*.gz"), "--input", filepath.Join(dir, "*.zst"),
		"--output", out, "--reduces", "2", "--split-size", "65536")
	assertCommitted(t, out, 2)
	checkWordCounts(t, out, books)
	if !strings.Contains(r.stdout, "maps 8, reduces 2") {
		t.Errorf("want one map per compressed file (8):\n%s", r.stdout)
	}
}

// A truncated .gz fails the job at its first attempt with one line
// naming the file: no retry decodes the same bytes.
func TestCorruptCompressedInput(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	dir := t.TempDir()
	gz := compressCopy(t, books[0], dir, ".gz")
	data, err := os.ReadFile(gz)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gz, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	r := dist(t, "run", "--local", "1", "--app", env.App(t, "wordcount"), "--input", gz, "--output", out,
		"--max-attempts", "4", "--quiet")
	want := gz + " is corrupt or truncated gzip data"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d (want 1), stderr does not say %q:\n%s", r.code, want, r.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
		t.Fatalf("want a one-line error, got:\n%s", r.stderr)
	}
	assertNothingCommitted(t, out)
	// Without --quiet the progress shows each failed attempt: one.
	r = dist(t, "run", "--local", "1", "--app", env.App(t, "wordcount"), "--input", gz, "--output", out,
		"--max-attempts", "4")
	if n := strings.Count(r.stderr, "failed on"); n != 1 {
		t.Fatalf("%d failed attempts, want 1 (a corrupt input is fatal):\n%s", n, r.stderr)
	}
}
