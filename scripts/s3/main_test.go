package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/testsupport/s3test"
)

// TestCommands makes a bucket, uploads files under a prefix and as one
// key, lists and reads them back, on a real store.
func TestCommands(t *testing.T) {
	srv := s3test.Start(t)
	env := map[string]string{}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	getenv := func(k string) string { return env[k] }
	s3 := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, &out)
		return out.String(), err
	}

	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	for f, text := range map[string]string{a: "one\n", b: "two\nlines\n"} {
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"mb", "s3://books"},
		{"mb", "s3://books"}, // again: it exists, which is fine
		{"put", a, b, "s3://books/in/"},
		{"put", a, "s3://books/solo.txt"},
	} {
		if _, err := s3(args...); err != nil {
			t.Fatalf("s3 %s: %v", strings.Join(args, " "), err)
		}
	}
	got, err := s3("ls", "s3://books/in/")
	if err != nil {
		t.Fatal(err)
	}
	if want := "         4  s3://books/in/a.txt\n        10  s3://books/in/b.txt\n"; got != want {
		t.Errorf("ls s3://books/in/ =\n%s\nwant\n%s", got, want)
	}
	got, err = s3("cat", "s3://books/in/b.txt", "s3://books/solo.txt")
	if err != nil || got != "two\nlines\none\n" {
		t.Errorf("cat = %q, %v; want the two objects' bytes", got, err)
	}

	for _, args := range [][]string{
		{"put", a, b, "s3://books/one-key"},
		{"cat", "s3://books/missing"},
		{"ls", "books"},
		{"mb", "s3://books/key"},
	} {
		if _, err := s3(args...); err == nil {
			t.Errorf("s3 %s succeeded, want an error", strings.Join(args, " "))
		}
	}
	if _, err := s3("rm", "s3://books/in/a.txt"); !errors.Is(err, errUsage) {
		t.Errorf("s3 rm: %v, want the usage", err)
	}
}
