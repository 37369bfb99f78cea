package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/distmr/dist/internal/testsupport/testcert"
	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/registry"
)

// tlsArgsOf are the TLS flags naming f.
func tlsArgsOf(f testcert.Files) []string {
	return []string{"--tls-cert", f.Cert, "--tls-key", f.Key, "--tls-ca", f.CA}
}

// TestTLSCluster runs jobs over mutual TLS with a secret: between the
// client and the workers and between workers (the shuffle).
func TestTLSCluster(t *testing.T) {
	t.Parallel()
	ca := testcert.NewCA(t, "cluster")
	secret := writeSecret(t, "tls-cluster-secret-0123456789")
	var workers []*testenv.Worker
	for _, name := range []string{"w1", "w2"} {
		args := append([]string{"--secret-file", secret, "--slots", "2"}, tlsArgsOf(ca.Issue(t, name))...)
		workers = append(workers, testenv.StartWorker(t, env.Dist(t), args...))
	}
	addrs := workers[0].Addr + "," + workers[1].Addr
	client := tlsArgsOf(ca.Issue(t, "client"))
	books := env.Corpus(t)[:3]
	run := func(extra ...string) []string {
		args := []string{"run", "--app", env.App(t, "wordcount"), "--output", filepath.Join(t.TempDir(), "out"),
			"--reduces", "3", "--quiet", "--worker-wait", "5s"}
		for _, b := range books {
			args = append(args, "--input", b)
		}
		return append(args, extra...)
	}

	t.Run("job over TLS", func(t *testing.T) {
		args := run(append([]string{"--workers", addrs, "--secret-file", secret}, client...)...)
		r := mustRun(t, args...)
		out := strings.TrimSpace(r.stdout)
		assertCommitted(t, out, 3)
		checkWordCounts(t, out, books)
	})
	t.Run("local cluster over TLS", func(t *testing.T) {
		args := run(append([]string{"--local", "2", "--secret-file", secret}, client...)...)
		r := mustRun(t, args...)
		checkWordCounts(t, strings.TrimSpace(r.stdout), books)
	})
	t.Run("client without TLS", func(t *testing.T) {
		r := dist(t, run("--workers", addrs, "--secret-file", secret)...)
		if r.code != 1 || !strings.Contains(r.stderr, "if it uses TLS, give --tls-cert, --tls-key and --tls-ca") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("client certificate from another CA", func(t *testing.T) {
		other := testcert.NewCA(t, "other").Issue(t, "stranger")
		other.CA = ca.File // trusts the workers, but they do not trust it
		r := dist(t, run(append([]string{"--workers", addrs, "--secret-file", secret}, tlsArgsOf(other)...)...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "refused this client's certificate") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("incomplete TLS flags", func(t *testing.T) {
		f := ca.Issue(t, "half")
		r := dist(t, run("--workers", addrs, "--tls-cert", f.Cert)...)
		if r.code != 2 || !strings.Contains(r.stderr, "all three of --tls-cert, --tls-key and --tls-ca") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	// The workers went on serving after the refusals.
	mustRun(t, run(append([]string{"--workers", addrs, "--secret-file", secret}, client...)...)...)
}

// TestWorkerRefusesToListenOpenly: a worker without a secret will not
// listen beyond loopback unless told --insecure.
func TestWorkerRefusesToListenOpenly(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"0.0.0.0:0", ":0"} {
		r := dist(t, "worker", "--listen", listen, "--dir", t.TempDir())
		if r.code != 2 || !strings.Contains(r.stderr, "refusing to listen on "+listen+" without a secret") ||
			!strings.Contains(r.stderr, "--insecure") {
			t.Fatalf("dist worker --listen %s without a secret: exit %d\n%s", listen, r.code, r.stderr)
		}
	}
	secret := filepath.Join(t.TempDir(), "open-secret")
	if err := os.WriteFile(secret, []byte("a-secret-anyone-can-read-0123"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := dist(t, "worker", "--listen", "127.0.0.1:0", "--dir", t.TempDir(), "--secret-file", secret)
	if r.code != 2 || !strings.Contains(r.stderr, "readable by every user") {
		t.Fatalf("world-readable secret file: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSecuredRegistry: workers register under ZooKeeper ACLs with
// --zk-auth; dist workers shows which workers are insecure; the secret
// shows up nowhere but in its file.
func TestSecuredRegistry(t *testing.T) {
	t.Parallel()
	zks := zktest.Start(t)
	const secretText = "registry-cluster-secret-0123456789"
	secret := writeSecret(t, secretText)
	authFile := filepath.Join(t.TempDir(), "zk-auth")
	if err := os.WriteFile(authFile, []byte("dist:zk-password-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secure := testenv.StartWorker(t, env.Dist(t), "--listen", "0.0.0.0:0", "--zk", zks.Addr(), "--zk-auth", authFile,
		"--secret-file", secret, "--id", "secure-1")
	open := testenv.StartWorker(t, env.Dist(t), "--listen", "0.0.0.0:0", "--zk", zks.Addr(), "--zk-auth", authFile,
		"--insecure", "--id", "open-1")
	waitWorkers(t, zks.Addr(), func(ws []registry.WorkerInfo) bool { return len(ws) == 2 })

	if !strings.Contains(open.Logs(), "INSECURE") {
		t.Errorf("an --insecure worker did not warn at start:\n%s", open.Logs())
	}
	r := mustRun(t, "workers", "--zk", zks.Addr(), "--secret-file", secret)
	var openRow, secureRow string
	for _, l := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.HasPrefix(l, "open-1"):
			openRow = l
		case strings.HasPrefix(l, "secure-1"):
			secureRow = l
		}
	}
	if !strings.Contains(openRow, "INSECURE") || strings.Contains(secureRow, "INSECURE") {
		t.Errorf("dist workers does not flag exactly the insecure worker:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "open-1") || !strings.Contains(r.stderr, "without a secret or TLS") {
		t.Errorf("dist workers does not warn about open-1:\n%s", r.stderr)
	}

	// Only holders of the ZooKeeper credentials may add or remove workers.
	conn, events, err := zk.Connect([]string{zks.Addr()}, 10*time.Second, zk.WithLogger(quietZK{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		conn.Close()
		for range events {
		}
	}()
	waitFor(t, 30*time.Second, "a ZooKeeper session", func() bool { return conn.State() == zk.StateHasSession })
	if err := conn.Delete("/dist/workers/secure-1", -1); err != zk.ErrNoAuth {
		t.Errorf("a stranger deleting a worker node: %v, want %v", err, zk.ErrNoAuth)
	}
	if _, err := conn.Create("/dist/workers/fake", []byte("x"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != zk.ErrNoAuth {
		t.Errorf("a stranger adding a worker node: %v, want %v", err, zk.ErrNoAuth)
	}

	// The secret is nowhere but in its file: not in ZooKeeper, the
	// worker's command line, its environment or its log.
	for _, node := range []string{"/dist/workers/secure-1", "/dist/workers/open-1"} {
		data, _, err := conn.Get(node)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), secretText) {
			t.Errorf("the secret is in %s", node)
		}
	}
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", secure.Pid(), f))
		if err == nil && strings.Contains(string(b), secretText) {
			t.Errorf("the secret is in the worker's /proc/PID/%s", f)
		}
	}
	if strings.Contains(secure.Logs(), secretText) {
		t.Error("the secret is in the worker's log")
	}

	// A job runs on the secure worker.
	out := filepath.Join(t.TempDir(), "out")
	book := env.Corpus(t)[0]
	mustRun(t, "run", "--workers", secure.Addr, "--secret-file", secret, "--app", env.App(t, "wordcount"),
		"--input", book, "--output", out, "--quiet")
	checkWordCounts(t, out, []string{book})
}

type quietZK struct{}

func (quietZK) Printf(string, ...any) {}
