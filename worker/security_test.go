package worker

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testcert"
	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

func TestExposedWorkerNeedsSecret(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		c := DefaultConfig()
		c.Dir, c.Listen = t.TempDir(), listen
		err := c.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "without a secret") ||
			!strings.Contains(err.Error(), "--secret-file") || !strings.Contains(err.Error(), "--insecure") {
			t.Fatalf("listen %s without a secret: Validate() = %v", listen, err)
		}
	}
	for _, edit := range []func(*Config){
		func(c *Config) { c.MaxStreams = -1 },
		func(c *Config) { c.IdleTimeout = -time.Second },
		func(c *Config) { c.HandshakeTimeout = -time.Second },
		func(c *Config) { c.Listen = "7070" },
	} {
		c := DefaultConfig()
		c.Dir = t.TempDir()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("Validate() = %v, want ErrConfig", err)
		}
	}
	// With --insecure it starts, warns and says so in Info.
	w := newTestWorker(t, func(c *Config) { c.Listen = "0.0.0.0:0"; c.Insecure = true })
	if !slices.Contains(w.Info().Flags, "insecure") {
		t.Fatalf("insecure worker's flags %v", w.Info().Flags)
	}
	// With a secret it starts and is not flagged.
	w = newTestWorker(t, func(c *Config) { c.Listen = "0.0.0.0:0"; c.Secret = []byte("0123456789abcdef") })
	if slices.Contains(w.Info().Flags, "insecure") {
		t.Fatalf("worker with a secret flagged %v", w.Info().Flags)
	}
	// Loopback needs no secret (but is flagged).
	w = newTestWorker(t, nil)
	if !slices.Contains(w.Info().Flags, "insecure") {
		t.Fatalf("loopback worker without a secret: flags %v", w.Info().Flags)
	}
}

func TestSilentPeerDropped(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.HandshakeTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", w.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := conn.Read(make([]byte, 64)); err == nil {
		t.Fatal("the worker sent something to a silent peer")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("silent peer dropped after %v, want about 200ms", d)
	}
	// And the worker serves on.
	s := connect(t, w, nil)
	if err := s.Call(testContext(t), proto.OpInfo, "", &proto.InfoRequest{}, &proto.InfoReply{}); err != nil {
		t.Fatal(err)
	}
}

func TestStreamsPerSessionLimited(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.MaxStreams = 2 })
	s := connect(t, w, nil)
	ctx := testContext(t)
	// Two calls that say nothing hold both of the session's call slots.
	var held []*proto.Stream
	for range 2 {
		st, err := s.OpenRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write([]byte{0, 0}); err != nil { // half a frame length: opens the stream
			t.Fatal(err)
		}
		held = append(held, st)
	}
	waitFor(t, "a busy refusal", func() bool {
		err := s.Call(ctx, proto.OpInfo, "", &proto.InfoRequest{}, &proto.InfoReply{})
		return proto.IsCode(err, proto.CodeBusy) && strings.Contains(err.Error(), "2 calls open")
	})
	for _, st := range held {
		st.Close()
	}
	waitFor(t, "the session to serve again", func() bool {
		return s.Call(ctx, proto.OpInfo, "", &proto.InfoRequest{}, &proto.InfoReply{}) == nil
	})
}

func TestStalledUploadCutOff(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	s := connect(t, w, nil)
	ctx := testContext(t)
	body := []byte("0123456789")
	st, err := s.Open(ctx, proto.OpPutArtifact, "", &proto.PutArtifactRequest{SHA256: sha(body), Size: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Write(body); err != nil { // 10 of 1000 bytes, then nothing
		t.Fatal(err)
	}
	err = s.ReadReply(ctx, st, proto.OpPutArtifact, &proto.Reply{})
	wireCode(t, err, proto.CodeBadRequest, "broke off")
	assertCacheHolds(t, w)
}

// procField returns a line of /proc/<pid>/<file> starting with prefix.
func procField(t *testing.T, pid int, file, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("/proc/%d/%s has no %q line", pid, file, prefix)
	return ""
}

func TestTaskSandbox(t *testing.T) {
	if _, err := os.Stat("/proc/self/limits"); err != nil {
		t.Skip("no /proc")
	}
	secret := []byte("0123456789abcdef-sandbox")
	w := newTestWorker(t, func(c *Config) {
		c.Secret = secret
		c.TaskMaxFiles = 200
		c.TaskMaxProcs = 3000
	})
	s := connect(t, w, secret)
	art := putTestApp(t, s)
	st, pids := startHanging(t, w, s, testContext(t), "j", 0, art, "hang")
	defer st.Close()
	pid := pids[0]
	files := regexp.MustCompile(`^Max open files\s+200\s+200\s`)
	if l := procField(t, pid, "limits", "Max open files"); !files.MatchString(l) {
		t.Errorf("task limits: %q, want 200 open files", l)
	}
	procs := regexp.MustCompile(`^Max processes\s+3000\s+3000\s`)
	if l := procField(t, pid, "limits", "Max processes"); !procs.MatchString(l) {
		t.Errorf("task limits: %q, want 3000 processes", l)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	dir := attemptDirOf(w, "j", spec.TaskID(spec.PhaseMap, 0), 0)
	for _, kv := range strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00") {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains([]string{"PATH", "HOME", "TMPDIR", "LANG", spec.EnvTaskDir}, k) {
			t.Errorf("task environment holds %q", kv)
		}
	}
	if strings.Contains(string(environ), string(secret)) {
		t.Error("the secret is in the task's environment")
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != dir {
		t.Errorf("task working directory %q (%v), want %q", cwd, err, dir)
	}
}

func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		c := DefaultConfig()
		c.Dir, c.RunAs = t.TempDir(), "nobody"
		if _, err := New(c); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "needs the worker to run as root") {
			t.Fatalf("--run-as without root: %v", err)
		}
		t.Skip("the rest needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	c := DefaultConfig()
	c.Dir, c.RunAs = t.TempDir(), "no-such-user-here"
	if _, err := New(c); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("--run-as of an unknown user: %v", err)
	}
	// The test's own temporary directory is not searchable by others:
	// Start says so.
	c.RunAs = "nobody"
	w, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(testContext(t)); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "chmod o+x") {
		t.Fatalf("Start with an unreachable --dir: %v", err)
	}
	_ = w.Shutdown(testContext(t))

	base, err := os.MkdirTemp("", "dist-runas-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(base); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by others", d)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	w = newTestWorker(t, func(c *Config) { c.Dir, c.DataDir, c.RunAs = filepath.Join(base, "w"), data, "nobody" })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	// A whole map runs as nobody and its output is served.
	res := runMap(t, s, "j", 1, 1, art, "a b a\n")
	if len(res.Outputs) != 1 {
		t.Fatalf("outputs %+v", res.Outputs)
	}
	// A worker: input reaches it through the shim as a descriptor, though
	// nobody could not open the file; a client's file is not opened for
	// it, nor a part written where the client says.
	path := filepath.Join(data, "x.log")
	putFile(t, path, "a\n")
	_, out := succeed(t, s, echoRequest("data", art, fileSource(t, storage.Worker, path, "x.log", 0, 2), "worker:x.log"))
	if out != "0\tworker:x.log|a\n" {
		t.Fatalf("worker: input as nobody gave %q", out)
	}
	failWith(t, s, echoRequest("local", art, fileSource(t, storage.Local, path, path, 0, 2), path), proto.CodeNotHere, "runs tasks as nobody")
	staging := filepath.Join(base, "staging")
	if ev, _ := succeed(t, s, partRequest(t, s, "placed", art, nil, localTarget(staging))); ev.Placed {
		t.Fatal("a worker running tasks as nobody placed a part where the client said")
	}
	st, pids := startHanging(t, w, s, testContext(t), "j", 0, art, "hang")
	defer st.Close()
	uid := procField(t, pids[0], "status", "Uid:")
	if f := strings.Fields(uid); len(f) < 2 || f[1] != nobody.Uid {
		t.Fatalf("task runs as %q, want uid %s", uid, nobody.Uid)
	}
	if l := procField(t, pids[0], "limits", "Max processes"); !strings.Contains(l, fmt.Sprint(DefaultTaskMaxProcs)) {
		t.Errorf("run-as task limits: %q, want %d processes", l, DefaultTaskMaxProcs)
	}
	files := regexp.MustCompile(fmt.Sprintf(`^Max open files\s+%d\s+%d\s`, DefaultTaskMaxFiles, DefaultTaskMaxFiles))
	if l := procField(t, pids[0], "limits", "Max open files"); !files.MatchString(l) {
		t.Errorf("run-as task limits: %q, want %d open files", l, DefaultTaskMaxFiles)
	}
}

// elfHeader is a bare 64-bit little-endian ELF executable header for
// machine (no program or section headers: enough for Inspect).
func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1               // ELFCLASS64, little endian, EV_CURRENT
	binary.LittleEndian.PutUint16(h[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine)
	binary.LittleEndian.PutUint32(h[20:], 1)  // EV_CURRENT
	binary.LittleEndian.PutUint16(h[52:], 64) // e_ehsize
	return h
}

func TestArtifactInspectedBeforeLaunch(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	ctx := testContext(t)
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919 + i>>3)
	}
	foreign := uint16(183) // EM_AARCH64
	if runtime.GOARCH == "arm64" {
		foreign = 62 // EM_X86_64
	}
	for _, tc := range []struct {
		name string
		body []byte
		kind string
		code string
		want string
	}{
		{"random bytes", random, proto.KindBinary, proto.CodeBadRequest, "is not an ELF file"},
		{"script as a binary", []byte("#!/bin/sh\necho hi\n"), proto.KindBinary, proto.CodeBadRequest, "is a script"},
		{"foreign architecture", elfHeader(foreign), proto.KindBinary, proto.CodeUnsupported, "rebuild with GOARCH=" + runtime.GOARCH},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := sha(tc.body)
			if err := putArtifactBytes(ctx, s, tc.body, sum); err != nil {
				t.Fatal(err)
			}
			putInput(t, s, "j", "m-00000", 0, "x\n")
			req := mapRequest("j", 0, 0, 1, sum, nil)
			req.Artifact.Kind, req.Artifact.Name = tc.kind, "myapp"
			evs := runToEnd(t, s, req)
			e := wireCode(t, evs[len(evs)-1].Error, tc.code, tc.want)
			if !strings.Contains(e.Message, "artifact myapp") {
				t.Errorf("error %q does not name the artifact", e.Message)
			}
			if len(evs) != 1 {
				t.Errorf("a refused launch sent %d events", len(evs))
			}
		})
	}
	// The worker goes on to run a correct program.
	art := putTestApp(t, s)
	runMap(t, s, "k", 0, 1, art, "a b\n")
}

// Worker-to-worker shuffle connections authenticate like any client: a
// peer with another secret gets nothing.
func TestShuffleFetchAuthenticated(t *testing.T) {
	s1, s2 := []byte("first-cluster-secret"), []byte("second-cluster-secret")
	a := newTestWorker(t, func(c *Config) { c.Secret = s1; c.ID = "worker-a" })
	b := newTestWorker(t, func(c *Config) { c.Secret = s2; c.ID = "worker-b" })
	sa, sb := connect(t, a, s1), connect(t, b, s2)
	art := putTestApp(t, sa)
	putTestApp(t, sb)
	res := runMap(t, sa, "wc", 0, 1, art, "a b a\n")
	fetch := []proto.MapOutput{{WorkerID: a.ID(), Addr: a.Addr(), Task: spec.TaskID(spec.PhaseMap, 0),
		Size: res.Outputs[0].Size, CRC32C: res.Outputs[0].CRC32C}}
	evs := runToEnd(t, sb, reduceRequest("wc", 0, 1, art, fetch))
	e := wireCode(t, evs[len(evs)-1].Error, proto.CodeFetchFailed, "authentication failed")
	if !strings.Contains(e.Message, "worker-a") {
		t.Fatalf("fetch error %q does not name the peer", e.Message)
	}
}

// With TLS, every connection (clients' and peers') is mutual TLS 1.3.
func TestShuffleOverTLS(t *testing.T) {
	ca := testcert.NewCA(t, "cluster")
	tlsFor := func(name string) (server, client *tls.Config) {
		f := ca.Issue(t, name)
		s, c, err := proto.LoadTLS(proto.TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.CA})
		if err != nil {
			t.Fatal(err)
		}
		return s, c
	}
	edit := func(id string) func(*Config) {
		return func(c *Config) {
			c.ID = id
			c.TLS, c.TLSClient = tlsFor(id)
		}
	}
	a, b := newTestWorker(t, edit("worker-a")), newTestWorker(t, edit("worker-b"))
	if !slices.Contains(a.Info().Flags, "tls") || slices.Contains(a.Info().Flags, "insecure") {
		t.Fatalf("TLS worker flags %v", a.Info().Flags)
	}
	_, clientTLS := tlsFor("client")
	dial := func(w *Worker) *proto.Session {
		s, err := proto.Dial(testContext(t), w.Addr(), proto.Options{TLS: clientTLS})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	sa, sb := dial(a), dial(b)
	art := putTestApp(t, sa)
	putTestApp(t, sb)
	res := runMap(t, sa, "wc", 0, 1, art, "a b a\n")
	fetch := []proto.MapOutput{{WorkerID: a.ID(), Addr: a.Addr(), Task: spec.TaskID(spec.PhaseMap, 0),
		Size: res.Outputs[0].Size, CRC32C: res.Outputs[0].CRC32C}}
	evs := runToEnd(t, sb, reduceRequest("wc", 0, 1, art, fetch))
	if e := evs[len(evs)-1].Error; e != nil {
		t.Fatalf("reduce over TLS: %v", e)
	}
	if out := string(fetchOutput(t, sb, "wc", spec.TaskID(spec.PhaseReduce, 0), 0, spec.PartName(0))); out != "a\t2\nb\t1\n" {
		t.Fatalf("reduce output %q", out)
	}
	// A plain client is turned away.
	if _, err := proto.Dial(testContext(t), a.Addr(), proto.Options{}); err == nil {
		t.Fatal("a plain client reached a TLS worker")
	}
}
