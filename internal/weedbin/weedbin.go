// Package weedbin finds the weed (SeaweedFS) binary that
// scripts/s3-local.sh runs, as the script finds it: $WEED, else the build
// of the version scripts/s3local/go.mod pins, cached in
// ${DIST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dist}/weed-<version>. The
// S3 tests (internal/testsupport/s3test) and make bench
// (scripts/internal/bench) use it; neither builds weed, which takes
// minutes: `make weed` (or scripts/s3-local.sh build, or .ci/run) does.
package weedbin

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Module is the module whose weed command is the store.
const Module = "github.com/seaweedfs/seaweedfs"

// toolModule is the module, relative to the repository root, that pins
// SeaweedFS and builds weed.
const toolModule = "scripts/s3local/go.mod"

// ErrNotBuilt says weed is not there to run.
var ErrNotBuilt = errors.New("weed (SeaweedFS) is not built: run `make weed` once (it takes minutes)")

// Find returns the weed binary to run and the pinned version, for the
// repository at root: $WEED, else the cached build. A missing build
// wraps ErrNotBuilt.
func Find(root string) (path, version string, err error) {
	if version, err = Version(root); err != nil {
		return "", "", err
	}
	if p := os.Getenv("WEED"); p != "" {
		if !isExec(p) {
			return "", "", fmt.Errorf("WEED=%s is not an executable file", p)
		}
		return p, version, nil
	}
	dir := os.Getenv("DIST_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir() // $XDG_CACHE_HOME, else $HOME/.cache
		if err != nil {
			return "", "", fmt.Errorf("locating the weed cache: %w (set DIST_CACHE or WEED)", err)
		}
		dir = filepath.Join(c, "dist")
	}
	p := filepath.Join(dir, "weed-"+version)
	if !isExec(p) {
		return "", "", fmt.Errorf("%w (no %s)", ErrNotBuilt, p)
	}
	return p, version, nil
}

// Root returns the repository root at or above dir: the directory that
// holds scripts/s3local/go.mod.
func Root(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, toolModule)); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s above %s: run inside the dist repository (or set WEED)", toolModule, dir)
		}
	}
}

// ToolModule is the go.mod that pins SeaweedFS, under root.
func ToolModule(root string) string { return filepath.Join(root, toolModule) }

// Version reads the SeaweedFS version the tool module under root pins.
func Version(root string) (string, error) {
	gomod := ToolModule(root)
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "require M V" or, inside a require block, "M V".
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == Module {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s requires no %s version", gomod, Module)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
