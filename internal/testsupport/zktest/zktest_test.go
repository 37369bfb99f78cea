package zktest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/distmr/dist/registry"
)

const waitLimit = 40 * time.Second

type discard struct{}

func (discard) Printf(string, ...any) {}

// connect opens a raw go-zookeeper connection, closed at the end.
func connect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	// 30s: a restarted server gives a session its whole timeout again,
	// and the client must reconnect within it; 10s was once too short in
	// CI with cmd/dist's parallel tests loading both cores.
	c, events, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogger(discard{}), zk.WithDialer(registry.BoundedDialer(30*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range events {
		}
	})
	eventually(t, "a session", func() bool { return c.State() == zk.StateHasSession })
	return c
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

func exists(t *testing.T, c *zk.Conn, path string) bool {
	t.Helper()
	ok, _, err := c.Exists(path)
	if err != nil {
		t.Fatalf("exists %s: %v", path, err)
	}
	return ok
}

func TestStartServes(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := FourLetter(ctx, s.Addr(), "srvr")
	if err != nil || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("srvr = %q, %v; want a standalone server", out, err)
	}
}

func TestStopStartKeepsData(t *testing.T) {
	s := Start(t)
	c := connect(t, s.Addr())
	if _, err := c.Create("/kept", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := FourLetter(ctx, s.Addr(), "srvr"); err == nil {
		t.Fatal("srvr answered after Stop")
	}

	s.Start()
	c2 := connect(t, s.Addr())
	if !exists(t, c2, "/kept") {
		t.Fatal("/kept is gone after a restart")
	}
	// The first client reconnects within its session.
	eventually(t, "reconnect of the first client", func() bool { return c.State() == zk.StateHasSession })
}

func TestProxyCutHeal(t *testing.T) {
	s := Start(t)
	p := s.Proxy(t)
	c := connect(t, p.Addr())
	sid := c.SessionID()

	p.Cut()
	eventually(t, "disconnect", func() bool { return c.State() != zk.StateHasSession })
	p.Heal()
	eventually(t, "reconnect", func() bool { return c.State() == zk.StateHasSession })
	if got := c.SessionID(); got != sid {
		t.Fatalf("session changed from 0x%x to 0x%x across a short cut", sid, got)
	}
}

func TestProxyExpireSessions(t *testing.T) {
	s := Start(t)
	p := s.Proxy(t)
	c := connect(t, p.Addr())
	observer := connect(t, s.Addr())
	sid := c.SessionID()
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := p.ExpireSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ExpireSessions = %d, %v; want 1, nil", n, err)
	}
	eventually(t, "deletion of the ephemeral node", func() bool { return !exists(t, observer, "/eph") })
	eventually(t, "a new session", func() bool {
		return c.State() == zk.StateHasSession && c.SessionID() != sid
	})
	if err := s.ExpireSession(ctx, Session{ID: sid, Passwd: []byte("nope")}); err == nil {
		t.Fatal("expiring a closed session succeeded")
	}
}

func TestMissingInstall(t *testing.T) {
	t.Setenv("ZOOKEEPER_HOME", t.TempDir())
	_, err := findInstall()
	if !errors.Is(err, errNoInstall) || !strings.HasPrefix(err.Error(), notInstalled) {
		t.Fatalf("findInstall with an empty ZOOKEEPER_HOME = %v; want %q", err, notInstalled)
	}
}
