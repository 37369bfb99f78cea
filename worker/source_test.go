package worker

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A map reads its input where it lives: a client-local file in place on
// the client's host, a file under --data-dir in place, an S3 range through
// the worker's own store client. The test app's "echo" mode maps each
// record to "key<TAB>InputFile|value", so outputs show offsets and names.

// echoRequest is a map-only echo map reading in, named name.
func echoRequest(job string, art string, in *proto.InputSource, name string) *proto.LaunchRequest {
	req := mapRequest(job, 0, 0, 0, art, map[string]string{"mode": "echo"})
	req.Config.Split.Name = name
	req.Input = in
	return req
}

// fileSource describes [off, off+n) of the file at path as the job
// listed it.
func fileSource(t testing.TB, kind storage.Kind, path, name string, off, n int64) *proto.InputSource {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	in := &proto.InputSource{Kind: string(kind), Name: name, Offset: off, Length: n, Size: fi.Size(),
		Version: strconv.FormatInt(fi.ModTime().UnixNano(), 10)}
	if kind == storage.Local {
		in.Host = storage.HostID()
	}
	return in
}

// finalEvent launches req and returns its final event.
func finalEvent(t testing.TB, s *proto.Session, req *proto.LaunchRequest) proto.Event {
	t.Helper()
	evs := runToEnd(t, s, req)
	return evs[len(evs)-1]
}

// succeed launches req, which must succeed, and returns its part.
func succeed(t testing.TB, s *proto.Session, req *proto.LaunchRequest) (proto.Event, string) {
	t.Helper()
	ev := finalEvent(t, s, req)
	if ev.Error != nil {
		t.Fatalf("%s: %v\nstderr:\n%s", req.Config.Job, ev.Error, ev.StderrTail)
	}
	c := req.Config
	return ev, string(fetchOutput(t, s, c.Job, c.Task, c.Attempt, spec.PartName(c.Index)))
}

// failWith launches req, which must fail with code, saying want.
func failWith(t testing.TB, s *proto.Session, req *proto.LaunchRequest, code, want string) *proto.Error {
	t.Helper()
	ev := finalEvent(t, s, req)
	if ev.Result != nil {
		t.Errorf("a failed attempt's final event carries a result: %+v", ev.Result)
	}
	return wireCode(t, ev.Error.Err(), code, want)
}

func putFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLocalInPlace(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	path := filepath.Join(t.TempDir(), "in.txt")
	const data = "zero\none two\r\nthree\n\nfour\n"
	putFile(t, path, data)
	const off, n = 5, 15 // "one two\r\nthree\n"

	staged := mapRequest("staged", 0, 0, 0, art, map[string]string{"mode": "echo"})
	staged.Config.Split = spec.Split{Name: path, Offset: off, Length: n}
	putInput(t, s, "staged", staged.Config.Task, 0, data[off:off+n])
	_, want := succeed(t, s, staged)

	ev, got := succeed(t, s, echoRequest("inplace", art, fileSource(t, storage.Local, path, path, off, n), path))
	if got != want || got != fmt.Sprintf("5\t%s|one two\n14\t%s|three\n", path, path) {
		t.Fatalf("in place:\n%q\nstaged:\n%q", got, want)
	}
	if ev.Placed || ev.Upload != nil {
		t.Errorf("no output target, yet placed %v upload %v", ev.Placed, ev.Upload)
	}
	if _, err := os.Stat(filepath.Join(attemptDirOf(w, "inplace", "m-00000", 0), spec.SplitFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an input read in place was staged: %v", err)
	}
}

func TestLocalInPlaceChanged(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	path := filepath.Join(t.TempDir(), "in.txt")
	putFile(t, path, "a b c\n")

	in := fileSource(t, storage.Local, path, path, 0, 6)
	appendFile(t, path, "d e\n")
	e := failWith(t, s, echoRequest("grown", art, in, path), proto.CodeInputChanged,
		"input "+path+" changed since the job started (size 6 → 10): rerun the job")
	if e.Retryable {
		t.Error("input_changed is retryable")
	}

	in = fileSource(t, storage.Local, path, path, 0, 6)
	in.Version = "1000"
	failWith(t, s, echoRequest("touched", art, in, path), proto.CodeInputChanged, "modified")
}

// A file that changes while the task reads it fails the attempt, whatever
// the task made of it.
func TestLocalChangedWhileRead(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	path := filepath.Join(t.TempDir(), "in.txt")
	putFile(t, path, "a b c\n")
	req := mapRequest("j", 0, 0, 0, art, map[string]string{"mode": "slow"})
	req.Config.Split.Name = path
	req.Input = fileSource(t, storage.Local, path, path, 0, 6)

	st := launch(t, testContext(t), s, req)
	for ev := nextEvent(t, st); ev.Kind != proto.EventRunning; ev = nextEvent(t, st) {
		if ev.Final {
			t.Fatalf("ended before running: %v", ev.Error)
		}
	}
	// The task waits in its first record for <dir>/go.
	appendFile(t, path, "d\n")
	putFile(t, filepath.Join(attemptDirOf(w, "j", "m-00000", 0), "go"), "")
	ev := nextEvent(t, st)
	for !ev.Final {
		ev = nextEvent(t, st)
	}
	wireCode(t, ev.Error.Err(), proto.CodeInputChanged, "changed while the task read it (size 6 → 8)")
	if ev.Result != nil || ev.Error.Retryable {
		t.Fatalf("result %+v, retryable %v", ev.Result, ev.Error.Retryable)
	}
}

// A worker that cannot read the client's file in place says not_here
// (the client then sends the split): no failure, no retry.
func TestLocalNotHere(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	path := filepath.Join(t.TempDir(), "in.txt")
	putFile(t, path, "a\n")

	in := fileSource(t, storage.Local, path, path, 0, 2)
	in.Host = "another-host"
	e := failWith(t, s, echoRequest("elsewhere", art, in, path), proto.CodeNotHere, "on another host than the client")
	if e.Retryable {
		t.Error("not_here is retryable")
	}
	in = fileSource(t, storage.Local, path, path, 0, 2)
	in.Name = filepath.Join(filepath.Dir(path), "not-visible-here.txt")
	failWith(t, s, echoRequest("missing", art, in, path), proto.CodeNotHere, "cannot open")
	in.Name = "relative.txt"
	failWith(t, s, echoRequest("relative", art, in, path), proto.CodeBadRequest, "not an absolute path")
	in = fileSource(t, storage.Local, path, path, 1, 2)
	failWith(t, s, echoRequest("past", art, in, path), proto.CodeBadRequest, "does not lie within")
}

// echoed is what the echo app maps the lines of data to, named name.
func echoed(data, name string) string {
	var b strings.Builder
	for off := 0; off < len(data); {
		end := len(data)
		if i := strings.IndexByte(data[off:], '\n'); i >= 0 {
			end = off + i + 1
		}
		line := strings.TrimSuffix(strings.TrimSuffix(data[off:end], "\n"), "\r")
		fmt.Fprintf(&b, "%d\t%s|%s\n", off, name, line)
		off = end
	}
	return b.String()
}

// awkward has a line ending exactly at a multiple of 4 (8), a line longer
// than a split, an empty line, CRLF and no final newline.
const awkward = "ab\ncdef\n" + "LLLLLLLLLLLLL\n" + "\n" + "x\r\ny"

// splitLines runs one echo map per split of size over an input and
// returns their outputs in split order.
func splitLines(t *testing.T, s *proto.Session, art, job string, size int64, in func(off, n int64) *proto.InputSource, name string) string {
	t.Helper()
	var all strings.Builder
	for off := int64(0); off < int64(len(awkward)); off += size {
		req := echoRequest(fmt.Sprintf("%s-%d", job, off), art, in(off, min(size, int64(len(awkward))-off)), name)
		_, out := succeed(t, s, req)
		all.WriteString(out)
	}
	return all.String()
}

func TestWorkerInputLines(t *testing.T) {
	data, _ := dataTree(t)
	path := filepath.Join(data, "logs/x.log")
	putFile(t, path, awkward)
	w := newTestWorker(t, func(c *Config) { c.DataDir = data })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	name := "worker:" + w.ID() + ":logs/x.log"

	got := splitLines(t, s, art, "lines", 4, func(off, n int64) *proto.InputSource {
		in := fileSource(t, storage.Worker, path, "logs/x.log", off, n)
		in.Lines = true
		return in
	}, name)
	if want := echoed(awkward, name); got != want {
		t.Fatalf("splits of 4 gave\n%q\nwant\n%q", got, want)
	}
}

func TestWorkerInputRefused(t *testing.T) {
	data, _ := dataTree(t)
	w := newTestWorker(t, func(c *Config) { c.DataDir = data })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	src := func(rel string) *proto.InputSource {
		return fileSource(t, storage.Worker, filepath.Join(data, "top.txt"), rel, 0, 4)
	}
	failWith(t, s, echoRequest("up", art, src("../outside/secret"), "x"), proto.CodeBadRequest, `worker: path "../outside/secret" leaves the data dir`)
	failWith(t, s, echoRequest("abs", art, src("/etc/passwd"), "x"), proto.CodeBadRequest, "leaves the data dir")
	failWith(t, s, echoRequest("link", art, src("link-out"), "x"), proto.CodeNotFound, "leads outside the data dir")
	failWith(t, s, echoRequest("gone", art, src("app/gone.log"), "x"), proto.CodeInputChanged, "is gone")
	in := src("top.txt")
	in.Size = 5
	failWith(t, s, echoRequest("changed", art, in, "x"), proto.CodeInputChanged, "input worker:top.txt on worker "+w.ID()+" changed")

	plain := newTestWorker(t, nil)
	ps := connect(t, plain, nil)
	failWith(t, ps, echoRequest("nodata", putTestApp(t, ps), src("top.txt"), "x"), proto.CodeUnsupported, "start it with --data-dir DIR")
}

func gzipOf(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// s3Source describes [off, off+n) of an object as the job listed it.
func s3Source(obj storage.Object, off, n int64, lines bool) *proto.InputSource {
	return &proto.InputSource{Kind: string(storage.S3), Name: obj.Name, Offset: off, Length: n,
		Size: obj.Size, Version: obj.Version, Lines: lines}
}

func TestS3Input(t *testing.T) {
	store := newFakeStore()
	w := newTestWorker(t, func(c *Config) { c.ObjectStore = func() (ObjectStore, error) { return store, nil } })
	s := connect(t, w, nil)
	art := putTestApp(t, s)

	obj := store.put("s3://logs/x.log", []byte(awkward))
	got := splitLines(t, s, art, "lines", 9, func(off, n int64) *proto.InputSource { return s3Source(obj, off, n, true) }, obj.Name)
	if want := echoed(awkward, obj.Name); got != want {
		t.Fatalf("splits of 9 gave\n%q\nwant\n%q", got, want)
	}

	// A compressed object is one split, read whole.
	gz := store.put("s3://logs/y.log.gz", gzipOf(t, "one\ntwo\n"))
	_, out := succeed(t, s, echoRequest("gz", art, s3Source(gz, 0, gz.Size, false), gz.Name))
	if want := "0\t" + gz.Name + "|one\n4\t" + gz.Name + "|two\n"; out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// A store's errors keep their meaning: a changed object fails the job, a
// refusal fails the attempt for good, an unreachable store is worth
// another attempt.
func TestS3InputErrors(t *testing.T) {
	store := newFakeStore()
	w := newTestWorker(t, func(c *Config) { c.ObjectStore = func() (ObjectStore, error) { return store, nil } })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	obj := store.put("s3://logs/x.log", []byte(awkward))

	stale := obj
	stale.Version = "an-older-etag"
	e := failWith(t, s, echoRequest("changed", art, s3Source(stale, 0, 4, true), obj.Name), proto.CodeInputChanged,
		"input s3://logs/x.log changed since the job started")
	if e.Retryable {
		t.Error("a changed object is retryable")
	}
	store.set(func(s *fakeStore) { s.fail = errFakeDenied })
	e = failWith(t, s, echoRequest("denied", art, s3Source(obj, 0, 4, true), obj.Name), proto.CodeStorage,
		"cannot read s3://logs/x.log: fake store: access denied: check the worker's S3 credentials and the bucket")
	if e.Retryable {
		t.Error("access denied is retryable")
	}
	store.set(func(s *fakeStore) { s.fail = errFakeUnreachable })
	e = failWith(t, s, echoRequest("down", art, s3Source(obj, 0, 4, true), obj.Name), proto.CodeStorage, "connection refused")
	if !e.Retryable {
		t.Error("an unreachable store is not retryable")
	}
	if strings.Contains(e.Message, "\n") {
		t.Errorf("not one line: %q", e.Message)
	}
}

func TestS3Unsupported(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	obj := storage.Object{Name: "s3://b/k", Size: 10, Version: "e"}
	e := failWith(t, s, echoRequest("nos3", art, s3Source(obj, 0, 10, false), obj.Name), proto.CodeStorage, "no S3 client")
	if e.Retryable {
		t.Error("a worker without an S3 client would be tried again")
	}

	broken := newTestWorker(t, func(c *Config) {
		c.ObjectStore = func() (ObjectStore, error) { return nil, errors.New("no region configured") }
	})
	bs := connect(t, broken, nil)
	failWith(t, bs, echoRequest("broken", putTestApp(t, bs), s3Source(obj, 0, 10, false), obj.Name), proto.CodeStorage, "no region configured")
}

// A Kill stops an attempt while it stages its S3 range.
func TestS3StagingKilled(t *testing.T) {
	store := newFakeStore()
	store.hold, store.opened = make(chan struct{}), make(chan struct{}, 1)
	w := newTestWorker(t, func(c *Config) { c.ObjectStore = func() (ObjectStore, error) { return store, nil } })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	obj := store.put("s3://logs/x.log", []byte(awkward))

	req := echoRequest("j", art, s3Source(obj, 0, obj.Size, false), obj.Name)
	st := launch(t, testContext(t), s, req)
	<-store.opened
	ref := proto.AttemptRef{Job: "j", Task: req.Config.Task}
	if err := s.Call(testContext(t), proto.OpKill, "j", &proto.KillRequest{AttemptRef: ref}, &proto.Reply{}); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, st)
	for !ev.Final {
		ev = nextEvent(t, st)
	}
	wireCode(t, ev.Error.Err(), proto.CodeTaskFailed, "was killed")
}
