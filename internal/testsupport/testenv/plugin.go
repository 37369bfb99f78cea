package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Plugin builds the main package pkg (relative to dir, or to the
// repository root when dir is "") as a Go plugin, once per Env and
// arguments, with -trimpath plus the extra go build flags, and returns
// its path. A plugin only loads into a host built with the same toolchain
// and flags: a non-race `Build(t, "./cmd/dist", false)` host matches the
// default.
func (e *Env) Plugin(t testing.TB, dir, pkg string, flags ...string) string {
	t.Helper()
	if dir == "" {
		dir = e.root
	}
	key := fmt.Sprint("plugin", dir, pkg, flags)
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.built[key]; ok {
		return p
	}
	out := filepath.Join(e.Dir, fmt.Sprintf("%s-%d.so", filepath.Base(pkg), len(e.built)))
	args := append([]string{"build", "-buildmode=plugin", "-trimpath", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildmode=plugin %s: %v\n%s", pkg, err, b)
	}
	e.built[key] = out
	return out
}

// CopyModule copies the repository's Go sources (go.mod, go.sum and every
// .go file outside build/ and testdata/) into a new directory under
// t.TempDir() and returns it, for tests that build against a changed copy.
func (e *Env) CopyModule(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(e.root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(e.root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "build", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(path) != ".go" && rel != "go.mod" && rel != "go.sum" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy module: %v", err)
	}
	return dst
}
