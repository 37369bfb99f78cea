package worker

import (
	"slices"
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
	res     *reservation // the slot it was given; guarded by Worker.mu
}

// reservation is a free slot promised to one job.
type reservation struct {
	job   string
	sess  *session
	timer *time.Timer
}

// slotQueue is guarded by Worker.mu.
type slotQueue struct {
	waiters []*slotWaiter
	held    []*reservation
}

// freeLocked is the number of slots neither running an attempt nor
// reserved.
func (w *Worker) freeLocked() int {
	return w.cfg.Slots - w.running - len(w.slots.held)
}

// takeSlotLocked lets an attempt of job take a slot: the job's own
// reservation if it holds one, else a free slot nobody holds. It returns
// the busy refusal when there is none.
func (w *Worker) takeSlotLocked(job string) error {
	if i := slices.IndexFunc(w.slots.held, func(r *reservation) bool { return r.job == job }); i >= 0 {
		w.slots.held[i].timer.Stop()
		w.slots.held = slices.Delete(w.slots.held, i, i+1)
		return nil
	}
	if w.freeLocked() > 0 {
		return nil
	}
	if w.running < w.cfg.Slots {
		return proto.Retryablef(proto.CodeBusy,
			"worker %s is busy: its free slots are promised to jobs that waited first: wait for your turn (WaitSlot)", w.id)
	}
	return proto.Retryablef(proto.CodeBusy,
		"worker %s is busy: all %d slots are in use: wait for a slot (WaitSlot) or use another worker", w.id, w.cfg.Slots)
}

// grantLocked gives free slots to the waiters in turn. Call it whenever a
// slot may have become free or a waiter arrived.
func (w *Worker) grantLocked() {
	for len(w.slots.waiters) > 0 && w.freeLocked() > 0 {
		wt := w.slots.waiters[0]
		w.slots.waiters = w.slots.waiters[1:]
		wt.res = w.reserveLocked(wt.job, wt.sess)
		wt.granted <- w.freeLocked() + 1
	}
}

// reserveLocked holds a free slot for job until it launches or slotLease
// passes.
func (w *Worker) reserveLocked(job string, s *session) *reservation {
	r := &reservation{job: job, sess: s}
	r.timer = time.AfterFunc(slotLease, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.unreserveLocked(r) {
			w.log.Debug("slot reservation expired unused", "job", job)
			w.grantLocked()
		}
	})
	w.slots.held = append(w.slots.held, r)
	return r
}

// unreserveLocked drops r if it is still held and reports whether it was.
func (w *Worker) unreserveLocked(r *reservation) bool {
	i := slices.Index(w.slots.held, r)
	if i < 0 {
		return false
	}
	r.timer.Stop()
	w.slots.held = slices.Delete(w.slots.held, i, i+1)
	return true
}

// renewLocked restarts the lease of job's reservations: the job is
// staging an attempt's input, which takes as long as the upload does.
func (w *Worker) renewLocked(job string) {
	for _, r := range w.slots.held {
		if r.job == job {
			r.timer.Reset(slotLease)
		}
	}
}

// dropSlotsLocked ends the waits and reservations that match (their job
// ended, their session closed, the worker drains), telling each waiter
// why; freed slots go to the other waiters.
func (w *Worker) dropSlotsLocked(why error, match func(job string, s *session) bool) {
	keep := w.slots.waiters[:0]
	for _, wt := range w.slots.waiters {
		if match(wt.job, wt.sess) {
			wt.why = why
			close(wt.dropped)
			continue
		}
		keep = append(keep, wt)
	}
	clear(w.slots.waiters[len(keep):])
	w.slots.waiters = keep
	for _, r := range slices.Clone(w.slots.held) {
		if match(r.job, r.sess) {
			w.unreserveLocked(r)
		}
	}
	w.grantLocked()
}

// cancelWaitLocked withdraws a waiter whose caller went away: from the
// queue, or, if it was served meanwhile, its reservation.
func (w *Worker) cancelWaitLocked(wt *slotWaiter) {
	if i := slices.Index(w.slots.waiters, wt); i >= 0 {
		w.slots.waiters = slices.Delete(w.slots.waiters, i, i+1)
		return
	}
	if wt.res != nil && w.unreserveLocked(wt.res) {
		w.grantLocked()
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
	w.slots.waiters = append(w.slots.waiters, wt)
	w.grantLocked()
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
	w.mu.Lock()
	w.cancelWaitLocked(wt)
	w.mu.Unlock()
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
