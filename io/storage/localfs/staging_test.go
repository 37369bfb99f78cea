package localfs

import (
	"bytes"
	"context"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/distmr/dist/io/storage"
)

func TestStaging(t *testing.T) {
	root := t.TempDir()
	s := Staging{Root: root, Stage: filepath.Join(root, "_temporary", "r-00000-0")}
	ctx := context.Background()
	var ps storage.PartStore = s
	data := bytes.Repeat([]byte("part line\n"), 1000)
	part, err := ps.Create(ctx, "part-00000")
	if err != nil {
		t.Fatal(err)
	}
	for rest := data; len(rest) > 0; rest = rest[min(len(rest), 777):] {
		if _, err := part.Write(rest[:min(len(rest), 777)]); err != nil {
			t.Fatal(err)
		}
	}
	p, err := part.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "part-00000" || p.Size != int64(len(data)) || p.CRC32C != crc32.Checksum(data, castagnoli) {
		t.Fatalf("Finish = %+v", p)
	}
	if got := entries(t, s.Stage); got != "part-00000" {
		t.Fatalf("Stage holds %q, want the finished part only", got)
	}
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	if fi, err := os.Stat(filepath.Join(s.Stage, "part-00000")); err != nil || fi.Mode().Perm() != 0o666&^os.FileMode(umask) {
		t.Errorf("the part's mode is %v, want 0666 less the umask %03o, as os.Create makes", fi.Mode(), umask)
	}
	if _, err := os.Stat(filepath.Join(root, "part-00000")); !os.IsNotExist(err) {
		t.Fatal("the part is visible before Commit")
	}
	if err := ps.Commit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "part-00000")); !bytes.Equal(got, data) {
		t.Fatalf("committed part holds %d bytes, want %d", len(got), len(data))
	}

	// Aborted before Finish, and after.
	part, err = ps.Create(ctx, "part-00001")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(part, "lost\n")
	if err := part.Abort(); err != nil {
		t.Fatal(err)
	}
	part, _ = ps.Create(ctx, "part-00002")
	io.WriteString(part, "dropped\n")
	p, err = part.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.Abort(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := ps.Abort(ctx, p); err != nil {
		t.Fatalf("Abort of a part already gone: %v", err)
	}
	if got := entries(t, s.Stage); got != "" {
		t.Fatalf("Stage holds %q after the aborts, want nothing", got)
	}
	for _, bad := range []string{"", ".", "..", "a/b", "../x"} {
		if _, err := ps.Create(ctx, bad); err == nil {
			t.Errorf("Create(%q) succeeded", bad)
		}
		if err := ps.Commit(ctx, storage.Pending{Name: bad}); err == nil {
			t.Errorf("Commit(%q) succeeded", bad)
		}
	}
}

// Link stages a file on the same file system without a copy: the staged
// part is the very file; where it cannot link it copies.
func TestLink(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "work", "out", "part-00000")
	data := bytes.Repeat([]byte("reduced\n"), 5000)
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := Staging{Root: filepath.Join(root, "out"), Stage: filepath.Join(root, "out", "_temporary", "r-00000-0")}
	ctx := context.Background()
	p, err := s.Link(ctx, "part-00000", f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != int64(len(data)) || p.CRC32C != crc32.Checksum(data, castagnoli) {
		t.Fatalf("Link = %+v", p)
	}
	staged, err := os.Stat(filepath.Join(s.Stage, "part-00000"))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := f.Stat()
	if !os.SameFile(staged, orig) {
		t.Error("Link copied a file it could link")
	}
	if got := entries(t, s.Stage); got != "part-00000" {
		t.Fatalf("Stage holds %q", got)
	}
	if err := s.Commit(ctx, p); err != nil {
		t.Fatal(err)
	}

	// The copy Link falls back to.
	s.Stage = filepath.Join(root, "out", "_temporary", "r-00000-1")
	p, err = s.copy(ctx, "part-00000", f)
	if err != nil || p.Size != int64(len(data)) || p.CRC32C != crc32.Checksum(data, castagnoli) {
		t.Fatalf("copy = %+v, %v", p, err)
	}
	copied, _ := os.Stat(filepath.Join(s.Stage, "part-00000"))
	if os.SameFile(copied, orig) {
		t.Error("copy linked")
	}
	if got, _ := os.ReadFile(filepath.Join(s.Stage, "part-00000")); !bytes.Equal(got, data) {
		t.Error("the copy differs")
	}
}

func entries(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return filepath.Join(out...)
}
