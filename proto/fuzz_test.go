package proto

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// frame returns v encoded as one frame, for seeds.
func frame(tb testing.TB, v any) []byte {
	var b bytes.Buffer
	if err := WriteFrame(&b, v); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// FuzzDecodeFrame feeds arbitrary bytes to the frame decoder with every
// message type a peer can send; nothing may panic or allocate beyond the
// frame limit.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(frame(f, &Header{Op: OpLaunch, Job: "j"}))
	f.Add(frame(f, &Event{Kind: EventDone, Final: true, Error: Errorf(CodeTaskFailed, "x")}))
	f.Add(frame(f, &LaunchRequest{Fetch: []MapOutput{{WorkerID: "w", Task: "m-00000"}}}))
	f.Add(frame(f, &LaunchRequest{Maps: 3, Fetch: []MapOutput{{WorkerID: "w", Task: "m-00001", Attempt: 1}}}))
	f.Add(frame(f, &FetchMore{Fetch: []MapOutput{{WorkerID: "w", Task: "m-00002"}}, Lost: []string{"m-00000"}}))
	f.Add(frame(f, &WaitSlotReply{Free: 1, LeaseMillis: 2000}))
	f.Add(frame(f, &SubmitJobRequest{Spec: JobSpec{ID: "j", Args: []string{"--reduces=2"}, Programs: []JobFile{{Flag: "app", Name: "wc", SHA: "ab", Size: 9}}}}))
	f.Add(frame(f, &SubmitJobReply{Job: "j", Master: "127.0.0.1:7070"}))
	f.Add(frame(f, &TaskLogsReply{Logs: []AttemptLog{{Task: "m-00001", Attempt: 1, Stderr: []byte("boom\n"), Truncated: true}}}))
	f.Add([]byte{0, 0, 0, 1, 0xc1})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []any{
			&Header{}, &Hello{}, &Welcome{}, &Proof{}, &Ready{}, &InfoReply{},
			&PutArtifactRequest{}, &PutInputRequest{}, &LaunchRequest{}, &Event{},
			&FetchPartitionRequest{}, &FetchOutputRequest{}, &BodyReply{}, &EndJobRequest{},
			&FetchMore{}, &WaitSlotRequest{}, &WaitSlotReply{},
			&SubmitJobRequest{}, &SubmitJobReply{}, &KillJobRequest{},
			&TaskLogsRequest{}, &TaskLogsReply{},
		} {
			_ = DecodeFrame(b, v)
		}
		if len(b) >= 4 && binary.BigEndian.Uint32(b) > MaxFrame {
			if err := DecodeFrame(b, &Header{}); err == nil {
				t.Fatal("oversized frame accepted")
			}
		}
	})
}

// fuzzConn replays fuzz bytes as what the peer says and discards replies.
type fuzzConn struct {
	io.Reader
	io.Writer
}

// FuzzHandshake plays arbitrary bytes as the client (first byte even) or
// the worker (odd) against the other side's handshake, with a secret: it
// must never panic, hang or let an unauthenticated peer through.
func FuzzHandshake(f *testing.F) {
	hello := frame(f, &Hello{Proto: ProtoVersion, Version: Version, Nonce: make([]byte, NonceSize)})
	proof := frame(f, &Proof{Proof: make([]byte, 32)})
	f.Add(append(append([]byte{0}, hello...), proof...))
	f.Add(append([]byte{0}, frame(f, &Hello{Proto: 99})...))
	welcome := frame(f, &Welcome{Proto: ProtoVersion, WorkerID: "w", Nonce: make([]byte, NonceSize), Proof: make([]byte, 32)})
	f.Add(append(append([]byte{1}, welcome...), frame(f, &Ready{})...))
	f.Add(append([]byte{1}, frame(f, &Welcome{Proto: 2, Error: Errorf(CodeVersion, "old")})...))
	secret := []byte("fuzz secret")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		rw := fuzzConn{bytes.NewReader(b[1:]), io.Discard}
		if b[0]%2 == 0 {
			if err := ServerHandshake(rw, secret, "w"); err == nil {
				t.Fatal("worker admitted a client that cannot know the secret")
			}
		} else {
			if _, err := clientHandshake(rw, secret, "addr"); err == nil {
				t.Fatal("client accepted a worker that cannot know the secret")
			}
		}
	})
}
