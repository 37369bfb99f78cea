package registry

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// waitLimit bounds every wait in these tests; nothing should come near.
const waitLimit = 20 * time.Second

// testCtx is a context for one test, cancelled when it ends.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// testLogger logs to t, shown on failure or with -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// newZK connects a ZK registry, closed when the test ends.
func newZK(t *testing.T, spec string) *ZK {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	z, err := NewZK(ctx, spec, ZKOptions{Logger: testLogger(t), SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	return z
}

// rawZK is a plain go-zookeeper connection, to look at nodes directly.
func rawZK(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(zkLogger{testLogger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range events {
		}
	})
	eventually(t, "a raw ZooKeeper session", func() bool { return c.State() == zk.StateHasSession })
	return c
}

func info(id string) WorkerInfo {
	return WorkerInfo{
		ID:        id,
		Addr:      id + ".example:7070",
		Slots:     4,
		Version:   "test",
		GoVersion: "go1.26",
		OS:        "linux",
		Arch:      "amd64",
		Started:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Flags:     []string{"insecure"},
	}
}

// ids lists a set's IDs.
func ids(ws []WorkerInfo) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

// hasIDs returns a condition: the set holds exactly want (sorted).
func hasIDs(want ...string) func([]WorkerInfo) bool {
	return func(ws []WorkerInfo) bool { return slices.Equal(ids(ws), want) }
}

// waitSet reads sets from ch until one satisfies cond, and returns it.
// Every set read is passed to seen, if not nil.
func waitSet(t *testing.T, ch <-chan []WorkerInfo, what string, cond func([]WorkerInfo) bool, seen func([]WorkerInfo)) []WorkerInfo {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case ws, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed while waiting for %s", what)
			}
			if seen != nil {
				seen(ws)
			}
			if cond(ws) {
				return ws
			}
		case <-deadline.C:
			t.Fatalf("no %s after %v", what, waitLimit)
		}
	}
}

// waitClosed waits for ch to close, draining it.
func waitClosed(t *testing.T, ch <-chan []WorkerInfo) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline.C:
			t.Fatalf("watch channel still open after %v", waitLimit)
		}
	}
}

// eventually polls cond until it holds, failing the test after waitLimit.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("no %s after %v", what, waitLimit)
		case <-tick.C:
		}
	}
}
