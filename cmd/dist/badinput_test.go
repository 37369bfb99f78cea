package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// liveWorker is a `dist worker` process with a secret, talked to over
// real sockets.
type liveWorker struct {
	w          *testenv.Worker
	secret     []byte
	secretFile string
}

// writeSecret writes a cluster secret to a private file.
func writeSecret(t *testing.T, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (lw *liveWorker) session(t *testing.T) *proto.Session {
	t.Helper()
	s, err := proto.Dial(liveCtx(t), lw.w.Addr, proto.Options{Secret: lw.secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func liveCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// upload runs a call with a body and returns its reply's error; the body
// is written while the reply is awaited, since the worker may refuse
// before it reads.
func upload(t *testing.T, s *proto.Session, op, job string, req any, body []byte) error {
	t.Helper()
	ctx := liveCtx(t)
	st, err := s.Open(ctx, op, job, req)
	if err != nil {
		return err
	}
	defer st.Close()
	errc := make(chan error, 1)
	go func() { errc <- s.ReadReply(ctx, st, op, &proto.Reply{}) }()
	_, _ = st.Write(body)
	return <-errc
}

func putArtifact(t *testing.T, s *proto.Session, body []byte, sum string) error {
	t.Helper()
	return upload(t, s, proto.OpPutArtifact, "", &proto.PutArtifactRequest{SHA256: sum, Size: int64(len(body))}, body)
}

// launchMap ships body, stages a one-line split and launches a map of it
// as job, returning the final event's error (nil on success).
func launchMap(t *testing.T, s *proto.Session, job string, body []byte, params map[string]string) error {
	t.Helper()
	sum := sha256hex(body)
	if err := putArtifact(t, s, body, sum); err != nil {
		t.Fatal(err)
	}
	ref := proto.AttemptRef{Job: job, Task: "m-00000"}
	if err := upload(t, s, proto.OpPutInput, job, &proto.PutInputRequest{AttemptRef: ref, Size: 6}, []byte("a b a\n")); err != nil {
		t.Fatal(err)
	}
	req := &proto.LaunchRequest{
		Config: spec.Config{Job: job, Task: "m-00000", Phase: spec.PhaseMap, Reduces: 1, Params: params,
			Split: spec.Split{Name: "x.txt", Length: 6}},
		Artifact: proto.ArtifactRef{SHA256: sum, Kind: proto.KindBinary, Name: "app"},
	}
	st, err := s.Open(liveCtx(t), proto.OpLaunch, job, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		var ev proto.Event
		if err := proto.ReadFrame(st, proto.MaxFrame, &ev); err != nil {
			t.Fatalf("launch events: %v", err)
		}
		if ev.Final {
			if ev.Error == nil {
				return nil
			}
			return ev.Error
		}
	}
}

// rawCall opens a call stream, writes raw bytes on it and returns the
// reply's error text.
func rawCall(t *testing.T, s *proto.Session, b []byte) string {
	t.Helper()
	st, err := s.OpenRaw(liveCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Write(b); err != nil {
		t.Fatal(err)
	}
	var rep proto.Reply
	if err := proto.ReadFrame(st, proto.MaxFrame, &rep); err != nil {
		t.Fatalf("no reply: %v", err)
	}
	if rep.Error == nil {
		return ""
	}
	return rep.Error.Code + ": " + rep.Error.Message
}

// lastLines keeps the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func errText(err error) string {
	if err == nil {
		return "<no error>"
	}
	return err.Error()
}

// newLog returns what the worker logged since mark, and a new mark.
func newLog(w *testenv.Worker, mark int) (string, int) {
	l := w.Logs()
	if mark > len(l) {
		mark = len(l)
	}
	return l[mark:], len(l)
}

// notRefusedOnce returns the remote addresses of from whose connection
// the log does not show refused, exactly once, as not a dist client.
func notRefusedOnce(logs string, from []string) []string {
	var missing []string
	for _, addr := range from {
		n := 0
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, " remote="+addr+" ") && strings.Contains(line, "not a dist client") {
				n++
			}
		}
		if n != 1 {
			missing = append(missing, addr)
		}
	}
	return missing
}

// hangsUp reads from conn until the worker closes it, and returns how
// long that took.
func hangsUp(t *testing.T, conn net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		if _, err := conn.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the worker kept the connection open")
			}
			return time.Since(start)
		}
	}
}

// TestBadInputLiveWorker throws every kind of bad input at one live
// `dist worker` process with a secret, over real sockets: each case must
// fail with its own clear error, and after each a correct job must still
// succeed on the same worker.
func TestBadInputLiveWorker(t *testing.T) {
	t.Parallel()
	const maxArtifact = 32 << 20
	secret := "the-cluster-secret-0123456789"
	lw := &liveWorker{secret: []byte(secret), secretFile: writeSecret(t, secret)}
	// 2s, not less: a client starved of CPU between its dial and its
	// first write (the tests run in parallel) is, to the worker, one that
	// sent nothing.
	lw.w = testenv.StartWorker(t, env.Dist(t), "--secret-file", lw.secretFile, "--slots", "1",
		"--max-artifact", "32M", "--handshake-timeout", "2s")
	wc := env.App(t, "wordcount")
	books := env.Corpus(t)
	book := books[len(books)-1]
	for _, b := range books {
		if fi, err := os.Stat(b); err == nil {
			if small, _ := os.Stat(book); fi.Size() < small.Size() {
				book = b
			}
		}
	}
	otherArch := "arm64" // an arm64 binary for amd64 workers
	if runtime.GOARCH == "arm64" {
		otherArch = "amd64"
	}
	foreign := env.Build(t, "./userapp/wordcount", false, "CGO_ENABLED=0", "GOARCH="+otherArch)
	randomApp := filepath.Join(t.TempDir(), "random.bin")
	junk := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	junk[0] = 0x8f // never a yamux header, ELF or "#!"
	if err := os.WriteFile(randomApp, junk, 0o755); err != nil {
		t.Fatal(err)
	}
	wrongSecret := writeSecret(t, "not-the-cluster-secret-at-all")
	runArgs := func(extra ...string) []string {
		return append([]string{"run", "--workers", lw.w.Addr, "--input", book,
			"--output", filepath.Join(t.TempDir(), "out"), "--quiet", "--worker-wait", "5s", "--max-attempts", "1"}, extra...)
	}
	runErr := func(t *testing.T, args ...string) string {
		r := dist(t, args...)
		if r.code == 0 {
			t.Fatalf("dist %v succeeded", args)
		}
		return strings.TrimSpace(r.stderr)
	}
	goodJob := func(t *testing.T) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "good")
		mustRun(t, "run", "--workers", lw.w.Addr, "--secret-file", lw.secretFile, "--app", wc,
			"--input", book, "--output", out, "--quiet")
		assertCommitted(t, out, 1)
		checkWordCounts(t, out, []string{book})
	}

	cases := []struct {
		name string
		do   func(t *testing.T) string // returns the error the case met
		want string
	}{
		{"random bytes of many sizes", func(t *testing.T) string {
			_, mark := newLog(lw.w, 0)
			var from []string // each connection's address, as the worker logs it
			for _, n := range []int{1, 2, 3, 11, 12, 13, 100, 4096, 65537, 1 << 20} {
				conn, err := net.Dial("tcp", lw.w.Addr)
				if err != nil {
					t.Fatal(err)
				}
				from = append(from, conn.LocalAddr().String())
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(rng.Uint32())
				}
				b[0] |= 0x80         // not a yamux version byte
				_, _ = conn.Write(b) // the worker may hang up before it has all
				hangsUp(t, conn)
				conn.Close()
			}
			// One refusal logged for each of these connections. Only
			// theirs are counted: tests run in parallel, and another
			// test's client may still dial a worker it killed whose
			// port this worker now has.
			var logs string
			var missing []string
			deadline := time.Now().Add(10 * time.Second)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				logs, _ = newLog(lw.w, mark)
				if missing = notRefusedOnce(logs, from); len(missing) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10s the worker has not logged one refusal as not a dist client for each of %v; "+
						"the worker's log since the first connection:\n%s", missing, logs)
				}
				<-tick.C
			}
			return logs
		}, "not a dist client: it sent bytes"},
		{"a client that says nothing", func(t *testing.T) string {
			_, mark := newLog(lw.w, 0)
			conn, err := net.Dial("tcp", lw.w.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if d := hangsUp(t, conn); d > 5*time.Second {
				t.Errorf("silent client dropped after %v, want about the 2s handshake timeout", d)
			}
			var logs string
			waitFor(t, 10*time.Second, "the worker to log the refusal", func() bool {
				logs, _ = newLog(lw.w, mark)
				return strings.Contains(logs, "connection refused")
			})
			return logs
		}, "the peer sent nothing: nothing within the handshake timeout"},
		{"wrong secret", func(t *testing.T) string {
			_, err := proto.Dial(liveCtx(t), lw.w.Addr, proto.Options{Secret: []byte("guess-guess-guess-guess")})
			return errText(err)
		}, "authentication failed: worker at " + lw.w.Addr + " and this client do not share a secret"},
		{"dist run without a secret", func(t *testing.T) string {
			return runErr(t, runArgs("--app", wc)...)
		}, "authentication failed"},
		{"dist run with the wrong secret", func(t *testing.T) string {
			return runErr(t, runArgs("--app", wc, "--secret-file", wrongSecret)...)
		}, "authentication failed"},
		{"protocol version mismatch", func(t *testing.T) string {
			conn, err := net.Dial("tcp", lw.w.Addr)
			if err != nil {
				t.Fatal(err)
			}
			cfg := yamux.DefaultConfig()
			cfg.LogOutput = io.Discard
			ys, err := yamux.Client(conn, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer ys.Close()
			st, err := ys.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			_ = st.SetDeadline(time.Now().Add(30 * time.Second))
			if err := proto.WriteFrame(st, &proto.Hello{Proto: 99, Version: "9.9.9", Nonce: make([]byte, proto.NonceSize)}); err != nil {
				t.Fatal(err)
			}
			var w proto.Welcome
			if err := proto.ReadFrame(st, proto.MaxHeader, &w); err != nil {
				t.Fatal(err)
			}
			if w.Error == nil {
				return "<welcomed>"
			}
			return w.Error.Message
		}, "protocol version mismatch: client speaks 99"},
		{"oversized header frame", func(t *testing.T) string {
			b := binary.BigEndian.AppendUint32(nil, proto.MaxFrame+1)
			return rawCall(t, lw.session(t), append(b, make([]byte, 1024)...))
		}, "bad_request: bad call header: frame too large: 1048577 bytes, limit 65536"},
		{"malformed msgpack", func(t *testing.T) string {
			return rawCall(t, lw.session(t), []byte{0, 0, 0, 3, 0x81, 0xa2, 0xc1})
		}, "malformed msgpack"},
		{"job name with ..", func(t *testing.T) string {
			ref := proto.AttemptRef{Job: "..", Task: "m-00000"}
			return errText(upload(t, lw.session(t), proto.OpPutInput, "", &proto.PutInputRequest{AttemptRef: ref, Size: 1}, []byte("x")))
		}, `job id ".." is not a safe name`},
		{"task name with /", func(t *testing.T) string {
			s := lw.session(t)
			var rep proto.Reply
			err := s.Call(liveCtx(t), proto.OpKill, "j", &proto.KillRequest{AttemptRef: proto.AttemptRef{Job: "j", Task: "../../etc/m"}}, &rep)
			return errText(err)
		}, `task id "../../etc/m" is not a safe name`},
		{"file name with NUL", func(t *testing.T) string {
			s := lw.session(t)
			req := &proto.FetchOutputRequest{AttemptRef: proto.AttemptRef{Job: "j", Task: "m-00000"}, Name: "part-0\x00/../x"}
			return errText(s.Call(liveCtx(t), proto.OpFetchOutput, "j", req, &proto.BodyReply{}))
		}, `"part-0\x00/../x" is not a safe name`},
		{"sha256 mismatch", func(t *testing.T) string {
			err := putArtifact(t, lw.session(t), []byte("some program"), sha256hex([]byte("another program")))
			left, _ := filepath.Glob(filepath.Join(lw.w.Dir, "cache", ".upload-*"))
			if len(left) > 0 {
				t.Errorf("partial uploads left behind: %v", left)
			}
			return errText(err)
		}, "artifact checksum mismatch"},
		{"artifact over --max-artifact", func(t *testing.T) string {
			body := make([]byte, 1<<20)
			req := &proto.PutArtifactRequest{SHA256: sha256hex(body), Size: maxArtifact + 1}
			return errText(upload(t, lw.session(t), proto.OpPutArtifact, "", req, body))
		}, "this worker accepts at most 33554432"},
		{"not an ELF file", func(t *testing.T) string {
			return errText(launchMap(t, lw.session(t), "junk", junk, nil))
		}, "artifact app is not an ELF file"},
		{"random bytes as --app", func(t *testing.T) string {
			return runErr(t, runArgs("--app", randomApp, "--secret-file", lw.secretFile)...)
		}, "not an ELF file"},
		{"foreign architecture", func(t *testing.T) string {
			b, err := os.ReadFile(foreign)
			if err != nil {
				t.Fatal(err)
			}
			return errText(launchMap(t, lw.session(t), "arm", b, nil))
		}, "artifact app: artifact built for linux/" + otherArch},
		{"foreign architecture as --app", func(t *testing.T) string {
			return runErr(t, runArgs("--app", foreign, "--secret-file", lw.secretFile)...)
		}, otherArch},
		{"unknown input format", func(t *testing.T) string {
			return runErr(t, runArgs("--app", wc, "--secret-file", lw.secretFile, "--input-format", "parquet")...)
		}, `unknown input format "parquet"`},
		{"more launches than slots", func(t *testing.T) string {
			s := lw.session(t)
			app, err := os.ReadFile(env.App(t, "crashy"))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256hex(app)
			if err := putArtifact(t, s, app, sum); err != nil {
				t.Fatal(err)
			}
			launch := func(taskID string) (*proto.Stream, proto.Event) {
				ref := proto.AttemptRef{Job: "busy", Task: taskID}
				if err := upload(t, s, proto.OpPutInput, "busy", &proto.PutInputRequest{AttemptRef: ref, Size: 2}, []byte("x\n")); err != nil {
					t.Fatal(err)
				}
				req := &proto.LaunchRequest{
					Config: spec.Config{Job: "busy", Task: taskID, Phase: spec.PhaseMap, Reduces: 1,
						Params: map[string]string{"stall": "1", "stall_secs": "120"}, Split: spec.Split{Name: "x", Length: 2}},
					Artifact: proto.ArtifactRef{SHA256: sum, Kind: proto.KindBinary, Name: "crashy"},
				}
				st, err := s.Open(liveCtx(t), proto.OpLaunch, "busy", req)
				if err != nil {
					t.Fatal(err)
				}
				for {
					var ev proto.Event
					if err := proto.ReadFrame(st, proto.MaxFrame, &ev); err != nil {
						t.Fatal(err)
					}
					if ev.Final || ev.Kind == proto.EventRunning {
						return st, ev
					}
				}
			}
			first, ev := launch("m-00000")
			if ev.Kind != proto.EventRunning {
				t.Fatalf("first launch: %+v", ev)
			}
			second, ev := launch("m-00001")
			second.Close()
			var info proto.InfoReply
			if err := s.Call(liveCtx(t), proto.OpInfo, "", &proto.InfoRequest{}, &info); err != nil || info.Running != 1 {
				t.Errorf("Info: running %d (%v), want 1: never more than the slots", info.Running, err)
			}
			first.Close() // kills the stalled attempt
			waitFor(t, 30*time.Second, "the slot to free", func() bool {
				var info proto.InfoReply
				return s.Call(liveCtx(t), proto.OpInfo, "", &proto.InfoRequest{}, &info) == nil && info.Running == 0
			})
			if ev.Error == nil {
				return "<second launch admitted>"
			}
			return ev.Error.Code + ": " + ev.Error.Message
		}, "busy: worker " + lw.w.ID + " is busy: all 1 slots are in use"},
	}
	if len(cases) < 12 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.do(t)
			t.Logf("met: %s", lastLines(got, 3))
			if !strings.Contains(got, c.want) {
				t.Fatalf("got:\n%s\nwant it to contain %q", got, c.want)
			}
			if strings.Contains(got, "panic") {
				t.Fatalf("a panic:\n%s", got)
			}
			goodJob(t)
		})
	}
	if strings.Contains(lw.w.Logs(), "panic") {
		t.Fatalf("the worker logged a panic:\n%s", lw.w.Logs())
	}
}
