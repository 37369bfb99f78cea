package worker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/distmr/dist/proto"
)

// Uploads are not synced, so an artifact left by an earlier run may have
// been cut short by a crash: it is hashed on first use, and a bad one is
// removed and reported missing, which makes the client upload it again.
func TestCachedArtifactVerifiedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	good, bad := []byte("#!/bin/sh\necho good\n"), []byte("#!/bin/sh\necho bad\n")
	cacheDir := filepath.Join(dir, "cache")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// What a crash can leave: the right name, the wrong (here: cut) bytes.
	if err := os.WriteFile(filepath.Join(cacheDir, sha(bad)), bad[:10], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cacheDir, sha(good)), good, 0o755); err != nil {
		t.Fatal(err)
	}
	w := newTestWorker(t, func(c *Config) { c.Dir = dir })
	s := connect(t, w, nil)
	has := func(sum string) bool {
		var rep proto.HasArtifactReply
		if err := s.Call(testContext(t), proto.OpHasArtifact, "", &proto.ArtifactRequest{SHA256: sum}, &rep); err != nil {
			t.Fatal(err)
		}
		return rep.Present
	}
	if !has(sha(good)) {
		t.Fatal("a good artifact from an earlier run is not found")
	}
	if has(sha(bad)) {
		t.Fatal("a corrupt artifact from an earlier run is reported present")
	}
	if _, err := os.Stat(filepath.Join(cacheDir, sha(bad))); !os.IsNotExist(err) {
		t.Fatalf("the corrupt artifact is still cached: %v", err)
	}
	if err := putArtifactBytes(testContext(t), s, bad, sha(bad)); err != nil {
		t.Fatal(err)
	}
	if !has(sha(bad)) {
		t.Fatal("artifact missing after uploading it again")
	}
}
