package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// waitTimeout bounds every wait for a condition in these tests.
const waitTimeout = 30 * time.Second

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// tlogWriter sends log lines to t.Log.
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// newTestWorker starts a worker on 127.0.0.1:0 in a temporary directory
// and shuts it down when the test ends.
func newTestWorker(t testing.TB, edit func(*Config)) *Worker {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Slots = 4
	cfg.KillGrace = 2 * time.Second
	cfg.DrainTimeout = 0 // tests of draining set their own
	cfg.Logger = slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if edit != nil {
		edit(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := w.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return w
}

// connect dials w like a client.
func connect(t testing.TB, w *Worker, secret []byte) *proto.Session {
	t.Helper()
	s, err := proto.Dial(testContext(t), w.Addr(), proto.Options{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// theArtifact is the test binary itself, read once.
var theArtifact = sync.OnceValues(func() ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return os.ReadFile(exe)
})

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func crc(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// upload runs a call with a request frame and a body, returning the reply.
func upload(ctx context.Context, s *proto.Session, op, job string, req any, body []byte) error {
	st, err := s.Open(ctx, op, job, req)
	if err != nil {
		return err
	}
	defer st.Close()
	// Read the reply concurrently: a worker may refuse before reading.
	errc := make(chan error, 1)
	go func() {
		var rep proto.Reply
		errc <- s.ReadReply(ctx, st, op, &rep)
	}()
	_, _ = st.Write(body) // a refusal shows in the reply
	return <-errc
}

func putArtifactBytes(ctx context.Context, s *proto.Session, b []byte, sum string) error {
	return upload(ctx, s, proto.OpPutArtifact, "", &proto.PutArtifactRequest{SHA256: sum, Size: int64(len(b))}, b)
}

// putTestApp uploads the test binary and returns its sha256.
func putTestApp(t testing.TB, s *proto.Session) string {
	t.Helper()
	b, err := theArtifact()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha(b)
	if err := putArtifactBytes(testContext(t), s, b, sum); err != nil {
		t.Fatal(err)
	}
	return sum
}

func putInput(t testing.TB, s *proto.Session, job, taskID string, attempt int, data string) {
	t.Helper()
	req := &proto.PutInputRequest{AttemptRef: proto.AttemptRef{Job: job, Task: taskID, Attempt: attempt}, Size: int64(len(data))}
	if err := upload(testContext(t), s, proto.OpPutInput, job, req, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

func mapRequest(job string, index, attempt, reduces int, art string, params map[string]string) *proto.LaunchRequest {
	return &proto.LaunchRequest{
		Config: spec.Config{
			Job: job, Task: spec.TaskID(spec.PhaseMap, index), Attempt: attempt, Phase: spec.PhaseMap,
			Index: index, Reduces: reduces, Params: params,
			Split: spec.Split{Name: "input.txt"},
		},
		Artifact: proto.ArtifactRef{SHA256: art, Kind: proto.KindBinary, Name: "testapp"},
	}
}

func reduceRequest(job string, index, reduces int, art string, fetch []proto.MapOutput) *proto.LaunchRequest {
	return &proto.LaunchRequest{
		Config: spec.Config{
			Job: job, Task: spec.TaskID(spec.PhaseReduce, index), Phase: spec.PhaseReduce,
			Index: index, Reduces: reduces,
		},
		Artifact: proto.ArtifactRef{SHA256: art, Kind: proto.KindBinary, Name: "testapp"},
		Fetch:    fetch,
	}
}

// launch opens a launch stream; the caller reads its events.
func launch(t testing.TB, ctx context.Context, s *proto.Session, req *proto.LaunchRequest) *proto.Stream {
	t.Helper()
	st, err := s.Open(ctx, proto.OpLaunch, req.Config.Job, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// nextEvent reads one event.
func nextEvent(t testing.TB, st *proto.Stream) proto.Event {
	t.Helper()
	var ev proto.Event
	if err := proto.ReadFrame(st, proto.MaxFrame, &ev); err != nil {
		t.Fatalf("read event: %v", err)
	}
	return ev
}

// runToEnd launches req and returns every event up to the final one.
func runToEnd(t testing.TB, s *proto.Session, req *proto.LaunchRequest) []proto.Event {
	t.Helper()
	st := launch(t, testContext(t), s, req)
	defer st.Close()
	var evs []proto.Event
	for {
		ev := nextEvent(t, st)
		evs = append(evs, ev)
		if ev.Final {
			return evs
		}
	}
}

// runMap stages input and runs a map attempt that must succeed.
func runMap(t testing.TB, s *proto.Session, job string, index, reduces int, art, input string) *spec.Result {
	t.Helper()
	putInput(t, s, job, spec.TaskID(spec.PhaseMap, index), 0, input)
	evs := runToEnd(t, s, mapRequest(job, index, 0, reduces, art, nil))
	final := evs[len(evs)-1]
	if final.Error != nil {
		t.Fatalf("map %d: %v\nstderr:\n%s", index, final.Error, final.StderrTail)
	}
	return final.Result
}

// fetch runs a FetchPartition or FetchOutput call and returns the body.
func fetch(ctx context.Context, s *proto.Session, op, job string, req any) ([]byte, proto.BodyReply, error) {
	st, err := s.Open(ctx, op, job, req)
	if err != nil {
		return nil, proto.BodyReply{}, err
	}
	defer st.Close()
	var rep proto.BodyReply
	if err := s.ReadReply(ctx, st, op, &rep); err != nil {
		return nil, rep, err
	}
	var buf bytes.Buffer
	err = proto.ReadBody(&buf, st, rep.Size, 1<<30)
	return buf.Bytes(), rep, err
}

func fetchOutput(t testing.TB, s *proto.Session, job, taskID string, attempt int, name string) []byte {
	t.Helper()
	b, rep, err := fetch(testContext(t), s, proto.OpFetchOutput, job,
		&proto.FetchOutputRequest{AttemptRef: proto.AttemptRef{Job: job, Task: taskID, Attempt: attempt}, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if crc(b) != rep.CRC32C {
		t.Fatalf("%s: CRC %08x, reply says %08x", name, crc(b), rep.CRC32C)
	}
	return b
}

// wireCode asserts err is a wire error with code whose message holds want.
func wireCode(t testing.TB, err error, code, want string) *proto.Error {
	t.Helper()
	if !proto.IsCode(err, code) {
		t.Fatalf("got error %v, want code %s", err, code)
	}
	e := proto.ToError(err)
	if !strings.Contains(e.Message, want) {
		t.Fatalf("error %q does not mention %q", e.Message, want)
	}
	return e
}

// gone reports whether pid has exited (a zombie counts as gone).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// children lists the test process's live child processes.
func children(t testing.TB) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids
}

func attemptDirOf(w *Worker, job, taskID string, attempt int) string {
	return w.attemptDir(attemptKey{job, taskID, attempt})
}
