// Package zktest runs a real ZooKeeper server for tests.
//
// # Server
//
// Start launches a standalone ZooKeeper (java ... ZooKeeperServerMain) on
// a free 127.0.0.1 port with its config, data and log in t.TempDir(),
// waits until it serves (polling the "srvr" command against a deadline),
// and kills its process group when the test ends. Stop kills it; Start
// on the Server starts it again on the same port and data, for tests of
// a ZooKeeper restart.
//
// The install is found through $ZOOKEEPER_HOME (a release tarball:
// jars in it and in lib/) or Debian's zookeeper package
// (/usr/share/java/zookeeper.jar, whose manifest names its dependencies).
// Without ZooKeeper or java the test is skipped with "zookeeper not
// installed: apt-get install zookeeper"; with CI=true it fails instead.
//
// # Proxy
//
// A Proxy sits between clients and the server. Cut drops every connection
// and refuses new ones until Heal, which is a network partition. The proxy
// also learns the session behind each connection, so ExpireSessions can
// end those sessions on the server (it takes a session over with its ID
// and password, then closes it), which is exactly what a client sees
// after being partitioned for longer than its session timeout, without
// waiting for the timeout.
//
// # Logs
//
// The server's output goes to zookeeper.log in its directory; when a test
// fails its last lines are logged.
package zktest
