package worker

import (
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
)

// Limits on what one session may hold. A session's calls each run in
// their own goroutine; MaxStreams bounds how many at once. A call beyond
// it is answered with a retryable busy (by a refuser, at most
// maxRefusers at a time; past that it is closed unanswered).

// maxRefusers bounds the goroutines answering refused calls per session.
const maxRefusers = 8

// refuseTimeout bounds how long a refused call's header is waited for.
const refuseTimeout = 5 * time.Second

// streamLimit counts a session's open calls.
type streamLimit struct {
	max      int32
	open     atomic.Int32
	refusing atomic.Int32
}

// acquire takes a call slot; false means the session is at its limit.
func (l *streamLimit) acquire() bool {
	if l.open.Add(1) > l.max {
		l.open.Add(-1)
		return false
	}
	return true
}

func (l *streamLimit) release() { l.open.Add(-1) }

// refuseStream answers a call over the session's limit with a busy error
// of the right shape for its op, without serving it.
func (w *Worker) refuseStream(s *session, st *yamux.Stream) {
	if s.streams.refusing.Add(1) > maxRefusers {
		s.streams.refusing.Add(-1)
		st.Close()
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer s.streams.refusing.Add(-1)
		defer st.Close()
		_ = st.SetDeadline(time.Now().Add(refuseTimeout))
		h, err := proto.ReadCallHeader(st)
		if err != nil {
			return
		}
		e := proto.Retryablef(proto.CodeBusy,
			"worker %s: this session has %d calls open, the most one session may: wait for some to end or use another session",
			w.ID(), s.streams.max)
		s.log.Info("call refused", "op", h.Op, "job", h.Job, "err", e.Message)
		if h.Op == proto.OpLaunch {
			_ = proto.WriteFrame(st, &proto.Event{Kind: proto.EventDone, Final: true, Error: e})
		} else {
			_ = proto.WriteFrame(st, &proto.Reply{Error: e})
		}
	}()
}

// idleStream wraps a call stream for a bulk transfer: every Read and
// Write must make progress within the idle timeout, so a peer that
// announces a body and then sends (or takes) nothing does not hold a
// goroutine and a half-written file for ever.
type idleStream struct {
	st   *yamux.Stream
	idle time.Duration
}

func (w *Worker) idle(st *yamux.Stream) *idleStream {
	return &idleStream{st: st, idle: w.cfg.IdleTimeout}
}

func (s *idleStream) Read(p []byte) (int, error) {
	_ = s.st.SetReadDeadline(time.Now().Add(s.idle))
	return s.st.Read(p)
}

func (s *idleStream) Write(p []byte) (int, error) {
	_ = s.st.SetWriteDeadline(time.Now().Add(s.idle))
	return s.st.Write(p)
}
