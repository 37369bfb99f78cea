package worker

import (
	"slices"
	"testing"
)

// TestShimArgsRoundTrip: the program the shim execs gets exactly the
// argv the worker meant (a task host reads its arguments from argv[1]).
func TestShimArgsRoundTrip(t *testing.T) {
	a := shimArgs{maxFiles: 1024, maxProcs: 4096, uid: 1000, gid: 1001,
		path: "/usr/bin/dist", argv: []string{"/usr/bin/dist", "task-host", "--plugin", "/c/abc"}}
	enc := a.encode()
	if enc[0] != shimArg0 {
		t.Fatalf("argv[0] = %q", enc[0])
	}
	got, err := parseShimArgs(enc[1:])
	if err != nil {
		t.Fatal(err)
	}
	if got.path != a.path || !slices.Equal(got.argv, a.argv) || got.maxFiles != 1024 || got.maxProcs != 4096 || got.uid != 1000 || got.gid != 1001 {
		t.Fatalf("parsed %+v, want %+v", got, a)
	}
	if _, err := parseShimArgs(enc[1:6]); err == nil {
		t.Error("arguments without a program parsed")
	}
}
