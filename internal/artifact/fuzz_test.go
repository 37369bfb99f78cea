package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzInspect feeds Inspect arbitrary files, as a worker gets them from
// the network: it must return an Info or an error, never panic, and what
// it returns must be usable.
func FuzzInspect(f *testing.F) {
	for _, seed := range []string{"/bin/true", "/bin/sh"} {
		if b, err := os.ReadFile(seed); err == nil {
			f.Add(b[:min(len(b), 4<<10)]) // the headers; small inputs mutate fast
		}
	}
	f.Add([]byte("#!/bin/sh\necho hi\n"))
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "artifact")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Inspect(path)
		if err != nil {
			if !errors.Is(err, ErrNotELF) && info != nil {
				t.Fatalf("error %v with an Info", err)
			}
			return
		}
		_ = info.CheckTarget("linux", "amd64")
		_ = info.Platform()
		if info.Kind == Plugin {
			_ = CheckPlugin(info, Host{Name: "worker w", GoVersion: "go1.26.8", Hashes: map[string]string{"runtime": "00"}})
		}
	})
}
