//go:build race

package registry

import "testing"

// skipUnderRace skips a test that makes go-zookeeper re-send watches after
// a reconnect: v1.0.4 reads Conn.lastZxid there while its receive loop
// writes it (go-zookeeper/zk#35, unmerged), which the race detector reports
// in the library, not in dist. `make test` runs these tests again without
// -race.
func skipUnderRace(t *testing.T) {
	t.Helper()
	t.Skip("go-zookeeper v1.0.4 races on Conn.lastZxid when it re-sets watches after a reconnect; make test runs this without -race")
}
