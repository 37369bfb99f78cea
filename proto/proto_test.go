package proto

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// testTimeout bounds every wait; a hang fails the test instead of the run.
const testTimeout = 20 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// acceptOne runs Accept on the next connection and sends its outcome.
func acceptOne(t testing.TB, ln net.Listener, o Options) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		ss, err := Accept(context.Background(), conn, o, "w1")
		errc <- err
		if err != nil {
			return
		}
		// Serve Info calls until the client hangs up.
		defer ss.Close()
		for {
			st, err := ss.AcceptStream()
			if err != nil {
				return
			}
			if _, err := ReadCallHeader(st); err == nil {
				var req InfoRequest
				if err := ReadRequest(st, &req); err == nil {
					_ = WriteFrame(st, &InfoReply{Running: 7})
				}
			}
			st.Close()
		}
	}()
	return errc
}

func recv(t testing.TB, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(testTimeout):
		t.Fatal("timed out: the other side hung")
		return nil
	}
}

func TestHandshake(t *testing.T) {
	for _, tc := range []struct {
		name           string
		worker, client string
		clientErr      string // "" = success
		workerErr      bool
	}{
		{"no secret", "", "", "", false},
		{"same secret", "k", "k", "", false},
		{"wrong client secret", "k", "x", "authentication failed", true},
		{"client without secret", "k", "", "authentication failed", true},
		{"worker without secret", "", "k", "authentication failed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			done := acceptOne(t, ln, Options{Secret: []byte(tc.worker)})
			s, err := Dial(testCtx(t), ln.Addr().String(), Options{Secret: []byte(tc.client)})
			if tc.clientErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.clientErr) {
					t.Fatalf("Dial: %v, want %q", err, tc.clientErr)
				}
				if !errors.Is(err, ErrAuth) && !IsCode(err, CodeAuth) {
					t.Fatalf("Dial error %v is neither ErrAuth nor code auth", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if s.WorkerID != "w1" || s.Version != Version {
					t.Fatalf("session %+v", s)
				}
				var rep InfoReply
				if err := s.Call(testCtx(t), OpInfo, "", &InfoRequest{}, &rep); err != nil || rep.Running != 7 {
					t.Fatalf("Info: %v %+v", err, rep)
				}
			}
			if err := recv(t, done); (err != nil) != tc.workerErr {
				t.Fatalf("Accept: %v, want error %v", err, tc.workerErr)
			}
		})
	}
}

// rawClient opens a yamux session and its first stream without the
// handshake, to speak it by hand.
func rawClient(t testing.TB, addr string) (*yamux.Session, *yamux.Stream) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := yamux.Client(conn, Options{}.yamux())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ys.Close() })
	st, err := ys.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_ = st.SetDeadline(time.Now().Add(testTimeout))
	return ys, st
}

func TestVersionMismatchWorkerSide(t *testing.T) {
	ln := listen(t)
	done := acceptOne(t, ln, Options{})
	ys, st := rawClient(t, ln.Addr().String())
	if err := WriteFrame(st, &Hello{Proto: ProtoVersion + 1, Version: "9.9.9", Nonce: make([]byte, NonceSize)}); err != nil {
		t.Fatal(err)
	}
	var w Welcome
	if err := ReadFrame(st, MaxFrame, &w); err != nil {
		t.Fatal(err)
	}
	if w.Error == nil || w.Error.Code != CodeVersion || !strings.Contains(w.Error.Message, "upgrade the older side") {
		t.Fatalf("Welcome error %+v", w.Error)
	}
	ys.Close() // as a client does on a refusal; the worker stops lingering
	if err := recv(t, done); !IsCode(err, CodeVersion) {
		t.Fatalf("Accept: %v", err)
	}
}

// fakeWorker serves the handshake stream with serve and keeps the
// session open until the test ends.
func fakeWorker(t testing.TB, serve func(st *yamux.Stream)) string {
	t.Helper()
	ln := listen(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		ys, err := yamux.Server(conn, Options{}.yamux())
		if err != nil {
			return
		}
		defer ys.Close()
		st, err := ys.AcceptStream()
		if err != nil {
			return
		}
		serve(st)
		select {
		case <-stop:
		case <-ys.CloseChan():
		}
	}()
	return ln.Addr().String()
}

func TestVersionMismatchClientSide(t *testing.T) {
	addr := fakeWorker(t, func(st *yamux.Stream) {
		var h Hello
		if ReadFrame(st, MaxFrame, &h) == nil {
			_ = WriteFrame(st, &Welcome{Proto: ProtoVersion + 1, Version: "9.9.9", WorkerID: "w", Nonce: make([]byte, NonceSize)})
		}
	})
	_, err := Dial(testCtx(t), addr, Options{})
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "upgrade the older side") ||
		!strings.Contains(err.Error(), addr) {
		t.Fatalf("Dial: %v", err)
	}
}

func TestSilentWorkerDoesNotHangDial(t *testing.T) {
	addr := fakeWorker(t, func(st *yamux.Stream) {}) // reads nothing, says nothing
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		s, err := Dial(ctx, addr, Options{})
		if err == nil {
			s.Close()
			err = errors.New("Dial to a silent worker succeeded")
		} else {
			err = nil
		}
		errc <- err
	}()
	if err := recv(t, errc); err != nil {
		t.Fatal(err)
	}
}

func TestSilentClientIsDropped(t *testing.T) {
	// A client that connects and says nothing is dropped by the worker's
	// handshake watchdog when its context ends.
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		_, err = Accept(ctx, conn, Options{}, "w1")
		errc <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cancel()
	if err := recv(t, errc); err == nil {
		t.Fatal("Accept admitted a silent peer")
	}
}

func TestCallContextUnblocksRead(t *testing.T) {
	ln := listen(t)
	served := make(chan struct{})
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		ss, err := Accept(context.Background(), conn, Options{}, "w1")
		if err != nil {
			return
		}
		defer ss.Close()
		st, err := ss.AcceptStream()
		if err != nil {
			return
		}
		close(served)
		<-ss.Done() // never answers the call
		st.Close()
	}()
	s, err := Dial(testCtx(t), ln.Addr().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-served; cancel() }()
	errc := make(chan error, 1)
	go func() { errc <- s.Call(ctx, OpInfo, "", &InfoRequest{}, &InfoReply{}) }()
	if err := recv(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("Call after cancel: %v", err)
	}
}

// strictReader fails the test if more than n bytes are read.
type strictReader struct {
	t *testing.T
	r io.Reader
	n int
}

func (s *strictReader) Read(p []byte) (int, error) {
	if len(p) > s.n {
		p = p[:s.n]
	}
	if len(p) == 0 {
		s.t.Fatal("read past the frame header")
	}
	n, err := s.r.Read(p)
	s.n -= n
	return n, err
}

func TestOversizedFrameRefusedUnread(t *testing.T) {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(MaxFrame+1))
	b.Write(make([]byte, 64))
	var h Header
	err := ReadFrame(&strictReader{t: t, r: &b, n: 4}, MaxFrame, &h)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame: %v", err)
	}
	if err := DecodeFrame([]byte{0, 0, 0, 0}, &h); !errors.Is(err, ErrEmptyFrame) {
		t.Fatalf("empty frame: %v", err)
	}
	big := &LaunchRequest{}
	big.Config.Params = map[string]string{"x": strings.Repeat("a", MaxFrame)}
	if err := WriteFrame(io.Discard, big); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame of an oversized message: %v", err)
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var b bytes.Buffer
	in := Event{Kind: EventDone, Final: true, ExitCode: 3, Error: Errorf(CodeTaskFailed, "boom")}
	if err := WriteFrame(&b, &in); err != nil {
		t.Fatal(err)
	}
	var out Event
	if err := ReadFrame(&b, MaxFrame, &out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != in.Kind || !out.Final || out.ExitCode != 3 || out.Error.Code != CodeTaskFailed {
		t.Fatalf("round trip: %+v", out)
	}
	if !errors.Is(out.Error, &Error{Code: CodeTaskFailed}) {
		t.Fatal("errors.Is does not match on the code")
	}
}

func TestReadBodyLimits(t *testing.T) {
	var dst bytes.Buffer
	if err := ReadBody(&dst, strings.NewReader("abcdef"), 10, 5); !errors.Is(err, ErrBodyTooLarge) || dst.Len() != 0 {
		t.Fatalf("over limit: %v, read %d", err, dst.Len())
	}
	if err := ReadBody(&dst, strings.NewReader("abc"), 5, 5); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v", err)
	}
	dst.Reset()
	if err := ReadBody(&dst, strings.NewReader("abcdef"), 4, 5); err != nil || dst.String() != "abcd" {
		t.Fatalf("exact body: %v %q", err, dst.String())
	}
}

func TestTinyFrameCannotForceHugeAllocation(t *testing.T) {
	frameOf := func(body string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		return append(b, body...)
	}
	for _, tc := range []struct {
		name string
		body string
		v    any
	}{
		{"bin32 nonce", "\x81\xa5nonce\xc6\x7f\xff\xff\x00", &Hello{}},
		{"str32 unknown field", "\x81\xa3xyz\xdb\x7f\xff\xff\x00", &Hello{}},
		{"array32 of map outputs", "\x81\xa5fetch\xdd\x7f\xff\xff\x00", &LaunchRequest{}},
		{"map32 params", "\x81\xa6config\x81\xa6params\xdf\x7f\xff\xff\x00", &LaunchRequest{}},
		{"ext32", "\x81\xa3xyz\xc9\x7f\xff\xff\x00\x01", &Header{}},
		{"deep nesting", strings.Repeat("\x91", 1000) + "\xc0", &Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			err := DecodeFrame(frameOf(tc.body), tc.v)
			runtime.ReadMemStats(&m1)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeFrame: %v, want ErrMalformed", err)
			}
			if d := m1.TotalAlloc - m0.TotalAlloc; d > 16<<20 {
				t.Fatalf("a %d-byte frame made the decoder allocate %d MiB", len(tc.body)+4, d>>20)
			}
		})
	}
}

func TestEveryMessagePassesTheCheck(t *testing.T) {
	for _, v := range []any{
		&Hello{Proto: 1, Version: "0.1.0", Nonce: make([]byte, NonceSize)},
		&Welcome{Proto: 1, Nonce: make([]byte, NonceSize), Proof: make([]byte, 32), Error: Errorf(CodeAuth, "x")},
		&InfoReply{Info: registry.WorkerInfo{ID: "w", Started: time.Now(), Flags: []string{"insecure"}}, Running: 2},
		&LaunchRequest{
			Config: spec.Config{Job: "j", Task: "r-00000", Phase: spec.PhaseReduce, Reduces: 2,
				Params: map[string]string{"a": "b", "c": strings.Repeat("d", 70000)}, Inputs: []spec.Input{{File: "in/m-0", Map: "m-00000", Size: 5}, {File: "in/m-1", Map: "m-00001", CRC32C: 9}}},
			Artifact: ArtifactRef{SHA256: strings.Repeat("a", 64), Kind: KindBinary},
			Fetch:    []MapOutput{{WorkerID: "w", Addr: "h:1", Task: "m-00000", Size: 1 << 40, CRC32C: 0xffffffff}},
		},
		&Event{Kind: EventDone, Final: true, Result: &spec.Result{Status: "ok", Counters: map[string]int64{"x": -5},
			Outputs: []spec.OutputFile{{Name: "part-00000", Size: 3}}}, ExitCode: -1},
		&BodyReply{Size: 1 << 33, CRC32C: 7},
	} {
		var b bytes.Buffer
		if err := WriteFrame(&b, v); err != nil {
			t.Fatal(err)
		}
		if err := checkMsgpack(b.Bytes()[4:]); err != nil {
			t.Errorf("%T: %v", v, err)
		}
	}
	if err := checkMsgpack([]byte{0xc0, 0xc0}); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing bytes: %v", err)
	}
}
