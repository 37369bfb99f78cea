package worker

import (
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
)

// Sharing slots among jobs.
//
// Every job that uses a worker shares its slots. A launch that finds no
// slot for its job is refused busy at once; that costs the job nothing
// (the tracker does not count it as an attempt). The job then calls
// WaitSlot, which the worker answers when a slot is free for it.
//
// Waiting jobs take turns: waiters are served first come, first served,
// and a slot given to one is reserved for its job for slotLease, until
// the job launches there or the lease passes (then it goes to the next
// waiter). A launch by a job holding no reservation is refused busy while
// every free slot is reserved for others. So a job that keeps all the
// slots busy cannot starve one that waits: each slot that frees goes to
// the job that has waited longest.

// slotLease is how long a slot stays reserved for the job it was given
// to. It covers the round trip of the grant, the tracker placing a task
// and the client staging its input (each upload of the job renews it).
const slotLease = 2 * time.Second

// slots is the worker's slot accounting: the attempts holding a slot, the
// WaitSlot calls waiting for one and the slots reserved for jobs. It has
// its own lock. Where taking or dropping slots must be atomic with the
// worker's own state (admit, drain, a job or session ending), the Worker
// calls it with Worker.mu held: the lock order is Worker.mu, then
// slots.mu.
type slots struct {
	n int // Config.Slots

	mu      sync.Mutex
	running int // attempts holding a slot
	waiters []*slotWaiter
	held    []*reservation
}

// slotWaiter is one WaitSlot call waiting for its turn.
type slotWaiter struct {
	job  string
	sess *session
	// granted receives the job's free slots once the call is served;
	// dropped is closed instead when the wait is ended for it (job
	// ended, worker draining) with why set.
	granted chan int
	dropped chan struct{}
	why     error
	res     *reservation // the slot it was given; guarded by slots.mu
}

// reservation is a free slot promised to one job.
type reservation struct {
	job   string
	sess  *session
	timer *time.Timer
}

func newSlots(n int) *slots { return &slots{n: n} }

// inUse is the number of attempts holding a slot.
func (s *slots) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// freeLocked is the number of slots neither running an attempt nor
// reserved.
func (s *slots) freeLocked() int {
	return s.n - s.running - len(s.held)
}

// take gives an attempt of job a slot: the job's own reservation if it
// holds one, else a free slot nobody holds. It returns the busy refusal,
// naming worker, when there is none.
func (s *slots) take(job, worker string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.held, func(r *reservation) bool { return r.job == job }); i >= 0 {
		s.held[i].timer.Stop()
		s.held = slices.Delete(s.held, i, i+1)
		s.running++
		return nil
	}
	if s.freeLocked() > 0 {
		s.running++
		return nil
	}
	if s.running < s.n {
		return proto.Retryablef(proto.CodeBusy,
			"worker %s is busy: its free slots are promised to jobs that waited first: wait for your turn (WaitSlot)", worker)
	}
	return proto.Retryablef(proto.CodeBusy,
		"worker %s is busy: all %d slots are in use: wait for a slot (WaitSlot) or use another worker", worker, s.n)
}

// release frees an attempt's slot; it goes to the job waiting longest.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	s.grantLocked()
}

// wait queues a WaitSlot call; it is served at once if a slot is free.
func (s *slots) wait(wt *slotWaiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters = append(s.waiters, wt)
	s.grantLocked()
}

// grantLocked gives free slots to the waiters in turn. Call it whenever a
// slot may have become free or a waiter arrived.
func (s *slots) grantLocked() {
	for len(s.waiters) > 0 && s.freeLocked() > 0 {
		wt := s.waiters[0]
		s.waiters = s.waiters[1:]
		wt.res = s.reserveLocked(wt.job, wt.sess)
		wt.granted <- s.freeLocked() + 1
	}
}

// reserveLocked holds a free slot for job until it launches or slotLease
// passes.
func (s *slots) reserveLocked(job string, sess *session) *reservation {
	r := &reservation{job: job, sess: sess}
	r.timer = time.AfterFunc(slotLease, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.unreserveLocked(r) {
			sess.log.Debug("slot reservation expired unused", "job", job)
			s.grantLocked()
		}
	})
	s.held = append(s.held, r)
	return r
}

// unreserveLocked drops r if it is still held and reports whether it was.
func (s *slots) unreserveLocked(r *reservation) bool {
	i := slices.Index(s.held, r)
	if i < 0 {
		return false
	}
	r.timer.Stop()
	s.held = slices.Delete(s.held, i, i+1)
	return true
}

// renew restarts the lease of job's reservations: the job is staging an
// attempt's input, which takes as long as the upload does.
func (s *slots) renew(job string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.held {
		if r.job == job {
			r.timer.Reset(slotLease)
		}
	}
}

// drop ends the waits and reservations that match (their job ended, their
// session closed, the worker drains), telling each waiter why; freed
// slots go to the other waiters.
func (s *slots) drop(why error, match func(job string, sess *session) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := s.waiters[:0]
	for _, wt := range s.waiters {
		if match(wt.job, wt.sess) {
			wt.why = why
			close(wt.dropped)
			continue
		}
		keep = append(keep, wt)
	}
	clear(s.waiters[len(keep):])
	s.waiters = keep
	for _, r := range slices.Clone(s.held) {
		if match(r.job, r.sess) {
			s.unreserveLocked(r)
		}
	}
	s.grantLocked()
}

// cancelWait withdraws a waiter whose caller went away: from the queue,
// or, if it was served meanwhile, its reservation.
func (s *slots) cancelWait(wt *slotWaiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.waiters, wt); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
		return
	}
	if wt.res != nil && s.unreserveLocked(wt.res) {
		s.grantLocked()
	}
}

// handleWaitSlot answers once a slot is reserved for the job, or ends
// the wait when the caller closes the stream or its session, the job
// ends, or the worker drains.
func (w *Worker) handleWaitSlot(s *session, st *yamux.Stream, h proto.Header) error {
	var req proto.WaitSlotRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkName("job id", req.Job); err != nil {
		return err
	}
	if err := checkHeaderJob(h, req.Job); err != nil {
		return err
	}
	wt := &slotWaiter{job: req.Job, sess: s, granted: make(chan int, 1), dropped: make(chan struct{})}
	w.mu.Lock()
	if w.stoppingLocked() {
		w.mu.Unlock()
		return shuttingDown(w.id)
	}
	w.slots.wait(wt) // under w.mu: a drain starting now drops it
	w.mu.Unlock()

	gone, stop := watchHangUp(st)
	defer stop()
	select {
	case free := <-wt.granted:
		return proto.WriteFrame(st, &proto.WaitSlotReply{Free: free})
	case <-wt.dropped:
		return wt.why
	case <-gone:
	case <-s.ss.Done():
	case <-w.ctx.Done():
	}
	w.slots.cancelWait(wt)
	return nil // nobody is left to answer
}

// watchHangUp reports on gone when the peer closes st (it sends nothing
// more on a WaitSlot stream). stop ends the watch.
func watchHangUp(st *yamux.Stream) (gone <-chan struct{}, stop func()) {
	c := make(chan struct{})
	go func() {
		defer close(c)
		var b [64]byte
		for {
			if _, err := st.Read(b[:]); err != nil {
				return
			}
		}
	}()
	return c, func() {
		_ = st.SetReadDeadline(time.Now()) // wakes the read
		<-c
	}
}
