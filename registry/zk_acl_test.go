package registry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/distmr/dist/internal/testsupport/zktest"
)

func newZKAuth(t *testing.T, spec, auth string) (*ZK, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	z, err := NewZK(ctx, spec, ZKOptions{Logger: testLogger(t), SessionTimeout: 10 * time.Second, Auth: auth})
	if err == nil {
		t.Cleanup(func() { z.Close() })
	}
	return z, err
}

func TestZKACL(t *testing.T) {
	s := zktest.Start(t)
	ctx := testCtx(t)
	// A registry node left open by an earlier worker without credentials
	// is locked down by the first one with them.
	open := newZK(t, s.Addr())
	if err := open.Register(ctx, info("old")); err != nil {
		t.Fatal(err)
	}
	open.Close()

	member, err := newZKAuth(t, s.Addr(), "dist:cluster-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := member.Register(ctx, info("w1")); err != nil {
		t.Fatal(err)
	}
	raw := rawZK(t, s.Addr())
	for _, p := range []string{"/dist", "/dist/workers", "/dist/workers/w1"} {
		acl, _, err := raw.GetACL(p)
		if err != nil {
			t.Fatal(err)
		}
		if worldWritable(acl) || len(acl) != 2 || acl[0].Scheme != "digest" || !strings.HasPrefix(acl[0].ID, "dist:") {
			t.Errorf("%s ACL %+v: want digest dist (all) and world (read)", p, acl)
		}
	}

	// Anyone may read: dist run and dist workers need no credentials.
	lister := newZK(t, s.Addr())
	ws, err := lister.Workers(ctx)
	if err != nil || !hasIDs("w1")(ws) {
		t.Fatalf("Workers without credentials = %v, %v", ids(ws), err)
	}
	// A stranger can neither add a worker nor remove one.
	if _, err := raw.Create("/dist/workers/intruder", []byte("x"), zk.FlagEphemeral, worldACL()); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("stranger's create: %v, want ErrNoAuth", err)
	}
	if err := raw.Delete("/dist/workers/w1", -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("stranger's delete: %v, want ErrNoAuth", err)
	}
	stranger := newZK(t, s.Addr())
	if err := stranger.Register(ctx, info("w2")); !errors.Is(err, ErrZKAuth) || !strings.Contains(err.Error(), "--zk-auth") {
		t.Errorf("Register without credentials: %v", err)
	}
	wrong, err := newZKAuth(t, s.Addr(), "dist:wrong-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Register(ctx, info("w3")); !errors.Is(err, ErrZKAuth) {
		t.Errorf("Register with wrong credentials: %v", err)
	}
	// A second member registers; members deregister.
	member2, err := newZKAuth(t, s.Addr(), "dist:cluster-password")
	if err != nil {
		t.Fatal(err)
	}
	if err := member2.Register(ctx, info("w4")); err != nil {
		t.Fatal(err)
	}
	if err := member2.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := raw.Exists("/dist/workers/w4"); ok {
		t.Error("w4 still registered after Deregister")
	}
}

func TestZKAuthMalformed(t *testing.T) {
	for _, auth := range []string{"nopassword", ":x", "user:"} {
		if err := (ZKOptions{Auth: auth}).Validate(); err == nil || !strings.Contains(err.Error(), "user:password") {
			t.Errorf("Auth %q: %v", auth, err)
		}
	}
}
