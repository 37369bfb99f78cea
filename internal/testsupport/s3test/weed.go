package s3test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seaweedModule is the module whose weed command is the store.
const seaweedModule = "github.com/seaweedfs/seaweedfs"

// toolModule is the module (relative to the repository root) that pins
// SeaweedFS and builds weed.
const toolModule = "scripts/s3local/go.mod"

// errNotBuilt is the skip (or, in CI, failure) reason.
var errNotBuilt = errors.New("weed (SeaweedFS) not built: run scripts/s3-local.sh build (takes minutes, once)")

// findWeed returns the weed binary to run: $WEED, else the cached build
// of the pinned version.
func findWeed() (string, error) {
	if p := os.Getenv("WEED"); p != "" {
		if !isExec(p) {
			return "", fmt.Errorf("WEED=%s is not an executable file", p)
		}
		return p, nil
	}
	p, err := cachedWeed()
	if err != nil {
		return "", err
	}
	if !isExec(p) {
		return "", fmt.Errorf("%w (no %s)", errNotBuilt, p)
	}
	return p, nil
}

// cachedWeed returns where scripts/s3-local.sh build puts weed, as the
// script computes it.
func cachedWeed() (string, error) {
	mod, err := findToolModule()
	if err != nil {
		return "", err
	}
	v, err := pinnedVersion(mod)
	if err != nil {
		return "", err
	}
	dir := os.Getenv("DIST_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir() // $XDG_CACHE_HOME, else $HOME/.cache
		if err != nil {
			return "", fmt.Errorf("locating the weed cache: %w (set DIST_CACHE or WEED)", err)
		}
		dir = filepath.Join(c, "dist")
	}
	return filepath.Join(dir, "weed-"+v), nil
}

// findToolModule finds scripts/s3local/go.mod above the working
// directory (a test runs in its package's directory).
func findToolModule() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, toolModule)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no %s above %s: s3test runs inside the dist repository (or set WEED)", toolModule, wd)
		}
	}
}

// pinnedVersion reads the SeaweedFS version that go.mod requires.
func pinnedVersion(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "require M V" or, inside a require block, "M V".
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == seaweedModule {
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s requires no %s version", gomod, seaweedModule)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// unavailable skips the test for a missing weed, or fails it in CI
// (CI=true), where .ci/run has built it.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: S3 tests must run)", err)
	}
	t.Skip(err.Error())
}
