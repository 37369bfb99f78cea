package artifact

import (
	"os"
	"path/filepath"
	"testing"
)

func TestHash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "abc")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, size, err := Hash(p)
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // sha256("abc")
	if err != nil || sum != want || size != 3 {
		t.Fatalf("Hash = %s, %d, %v; want %s, 3", sum, size, err, want)
	}
	if _, _, err := Hash(filepath.Join(t.TempDir(), "missing")); !os.IsNotExist(err) {
		t.Fatalf("a missing file: %v", err)
	}
}
