package worker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
)

// Serving. Each accepted connection is authenticated in its own goroutine
// and becomes a session; each call stream of a session is served in its
// own goroutine, dispatched on its header's op.

// session is one authenticated client or peer connection.
type session struct {
	ss   *proto.ServerSession
	log  *slog.Logger
	wg   sync.WaitGroup      // the session's streams
	jobs map[string]struct{} // jobs this session owns; guarded by Worker.mu
	// streams counts the session's open calls (Security.MaxStreams).
	streams streamLimit
}

// acceptLoop accepts connections until the listener closes.
func (w *Worker) acceptLoop(ln net.Listener) {
	defer w.wg.Done()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || w.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: wait and go on.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			w.log.Warn("accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		w.wg.Add(1)
		go w.serveConn(conn)
	}
}

// serveConn authenticates one connection and serves its streams, each in
// its own goroutine, until the session ends; then it gives up the jobs the
// session owned.
func (w *Worker) serveConn(conn net.Conn) {
	defer w.wg.Done()
	log := w.log.With("remote", conn.RemoteAddr().String())
	ss, err := proto.Accept(w.ctx, conn, w.srvOpts, w.ID())
	if err != nil {
		log.Info("connection refused", "err", err)
		return
	}
	s := &session{ss: ss, log: log, jobs: make(map[string]struct{})}
	s.streams.max = int32(w.cfg.MaxStreams)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		ss.Close()
		return
	}
	w.sessions[s] = struct{}{}
	w.mu.Unlock()
	log.Debug("session open")

	for {
		st, err := ss.AcceptStream()
		if err != nil {
			break
		}
		if !s.streams.acquire() {
			w.refuseStream(s, st)
			continue
		}
		s.wg.Add(1)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer s.wg.Done()
			defer s.streams.release()
			w.serveStream(s, st)
		}()
	}
	ss.Close()
	s.wg.Wait()
	w.mu.Lock()
	delete(w.sessions, s)
	w.mu.Unlock()
	w.release(s)
	log.Debug("session closed")
}

// serveStream serves one call.
func (w *Worker) serveStream(s *session, st *yamux.Stream) {
	defer st.Close()
	h, err := proto.ReadCallHeader(st)
	if err != nil {
		s.log.Info("bad call", "err", err)
		return
	}
	bodyUnread := false
	switch h.Op {
	case proto.OpInfo:
		err = w.handleInfo(st)
	case proto.OpHasArtifact:
		err = w.handleHasArtifact(st)
	case proto.OpPutArtifact:
		bodyUnread, err = w.handlePutArtifact(st, h)
	case proto.OpPutInput:
		bodyUnread, err = w.handlePutInput(s, st, h)
	case proto.OpLaunch:
		err = w.handleLaunch(s, st, h)
	case proto.OpKill:
		err = w.handleKill(st, h)
	case proto.OpFetchPartition:
		err = w.handleFetchPartition(st, h)
	case proto.OpFetchOutput:
		err = w.handleFetchOutput(st, h)
	case proto.OpEndJob:
		err = w.handleEndJob(st, h)
	case proto.OpWaitSlot:
		err = w.handleWaitSlot(s, st, h)
	case proto.OpListData:
		err = w.handleListData(st)
	case proto.OpTaskLogs:
		err = w.handleTaskLogs(st, h)
	case proto.OpSubmitJob:
		err = w.handleSubmitJob(st, h)
	case proto.OpKillJob:
		err = w.handleKillJob(st, h)
	default:
		err = proto.Errorf(proto.CodeBadRequest,
			"unknown op %q: worker speaks protocol %d (Info, HasArtifact, PutArtifact, PutInput, Launch, Kill, FetchPartition, FetchOutput, EndJob, WaitSlot, ListData, TaskLogs, SubmitJob, KillJob)",
			h.Op, proto.ProtoVersion)
	}
	if err == nil {
		return
	}
	e := proto.ToError(err)
	s.log.Info("call failed", "op", h.Op, "job", h.Job, "code", e.Code, "err", e.Message)
	if h.Op == proto.OpLaunch {
		_ = proto.WriteFrame(st, &proto.Event{Kind: proto.EventDone, Final: true, Error: e})
	} else {
		_ = proto.WriteFrame(st, &proto.Reply{Error: e})
	}
	if bodyUnread {
		discardBody(st)
	}
}

// discardTimeout bounds how long a refused upload's body is read and
// thrown away.
const discardTimeout = 30 * time.Second

// discardBody reads and throws away what the peer still sends after an
// upload was refused unread, so a peer that writes its whole body before
// reading the reply is not left blocked on a full window.
func discardBody(st *yamux.Stream) {
	_ = st.SetReadDeadline(time.Now().Add(discardTimeout))
	buf := make([]byte, 64<<10)
	for {
		if _, err := st.Read(buf); err != nil {
			return
		}
	}
}

func (w *Worker) handleInfo(st *yamux.Stream) error {
	var req proto.InfoRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	return proto.WriteFrame(st, &proto.InfoReply{Info: w.Info(), Running: w.slots.inUse()})
}
