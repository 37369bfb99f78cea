package s3test

import (
	"os"
	"testing"

	"github.com/distmr/dist/internal/weedbin"
)

// findWeed returns the weed binary to run (package weedbin), for the
// repository above the working directory (a test runs in its package's
// directory).
func findWeed() (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	p, _, err := weedbin.Find(root)
	return p, err
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return weedbin.Root(wd)
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
