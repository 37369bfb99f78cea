package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// ZooKeeper access control. Without credentials every node the registry
// creates is open to anyone (world:anyone, all permissions), like any
// node created without ACLs. With ZKOptions.Auth ("user:password", the
// digest scheme) the session authenticates, and every node the registrar
// creates (the root, <root>/workers and its own worker node) gets
//
//	digest:user:<hash>  all permissions   (cluster members)
//	world:anyone        read              (dist run, dist workers)
//
// so that only sessions holding the credentials can create or delete
// worker nodes, while anyone can list them. Existing registry nodes that
// are still open to the world are locked down the same way when a
// registrar with credentials meets them.

// ErrZKAuth marks a registry protected by credentials this session lacks.
var ErrZKAuth = errors.New("ZooKeeper refused access")

// zkDigestScheme is the ZooKeeper auth scheme used for --zk-auth.
const zkDigestScheme = "digest"

// parseZKAuth splits "user:password".
func parseZKAuth(auth string) (user, password string, err error) {
	user, password, ok := strings.Cut(auth, ":")
	if !ok || user == "" || password == "" {
		return "", "", errors.New("ZooKeeper credentials must read user:password (the digest scheme)")
	}
	return user, password, nil
}

// authenticate adds the digest credentials to the session; go-zookeeper
// sends them again on every reconnection.
func (z *ZK) authenticate(ctx context.Context, auth string) error {
	if auth == "" {
		return nil
	}
	err := z.write(ctx, func() error { return z.conn.AddAuth(zkDigestScheme, []byte(auth)) })
	if err != nil {
		return fmt.Errorf("ZooKeeper digest authentication: %w", err)
	}
	return nil
}

// acl is the ACL of every node the registry creates.
func (z *ZK) acl() []zk.ACL {
	if z.user == "" {
		return worldACL()
	}
	return append(zk.DigestACL(zk.PermAll, z.user, z.password), zk.WorldACL(zk.PermRead)...)
}

// secure locks down an existing node still open to the world. It does
// nothing without credentials.
func (z *ZK) secure(ctx context.Context, node string) error {
	if z.user == "" {
		return nil
	}
	var (
		acl  []zk.ACL
		stat *zk.Stat
	)
	err := z.read(ctx, func() error {
		var err error
		acl, stat, err = z.conn.GetACL(node)
		return err
	})
	if err != nil {
		return fmt.Errorf("reading the ACL of %s: %w", node, err)
	}
	if !worldWritable(acl) {
		return nil
	}
	z.log.Warn("locking down a registry node open to anyone", "node", node)
	err = z.write(ctx, func() error {
		_, err := z.conn.SetACL(node, z.acl(), stat.Aversion)
		return err
	})
	if errors.Is(err, zk.ErrBadVersion) {
		return nil // someone changed it meanwhile; the next start checks again
	}
	if err != nil {
		return fmt.Errorf("setting the ACL of %s: %w", node, zkAuthErr(err))
	}
	return nil
}

// worldWritable reports whether acl gives anyone more than read.
func worldWritable(acl []zk.ACL) bool {
	for _, a := range acl {
		if a.Scheme == "world" && a.ID == "anyone" && a.Perms&^zk.PermRead != 0 {
			return true
		}
	}
	return false
}

// zkAuthErr explains ZooKeeper's "not authenticated"/"no auth" errors.
func zkAuthErr(err error) error {
	if errors.Is(err, zk.ErrNoAuth) || errors.Is(err, zk.ErrAuthFailed) {
		return fmt.Errorf("%w: %v: the registry is protected by other credentials: give the cluster's --zk-auth file", ErrZKAuth, err)
	}
	return err
}
