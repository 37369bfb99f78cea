package worker

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
)

// A job lives on a worker while some session owns it: the sessions that
// staged input for it or launched its attempts (its client). Peer workers
// fetching map outputs never own a job. When the last owner's session
// closes, or EndJob arrives, the job's attempts are killed and its task
// directory removed.

// jobDir is <Dir>/tasks/<job>.
func (w *Worker) jobDir(job string) string {
	return filepath.Join(w.cfg.Dir, "tasks", job)
}

// ownLocked makes s an owner of job.
func (w *Worker) ownLocked(s *session, job string) {
	owners := w.jobs[job]
	if owners == nil {
		owners = make(map[*session]struct{})
		w.jobs[job] = owners
	}
	owners[s] = struct{}{}
	s.jobs[job] = struct{}{}
}

// release drops every job s owns and ends those left without an owner.
func (w *Worker) release(s *session) {
	w.mu.Lock()
	var orphans []string
	for job := range s.jobs {
		owners := w.jobs[job]
		delete(owners, s)
		if len(owners) == 0 {
			delete(w.jobs, job)
			orphans = append(orphans, job)
		}
	}
	s.jobs = make(map[string]struct{})
	w.slots.drop(nil, func(_ string, held *session) bool { return held == s })
	w.changedLocked()
	w.mu.Unlock()
	for _, job := range orphans {
		s.log.Info("job owner gone: ending job", "job", job)
		w.endJob(job, errJobEnded)()
	}
}

// endJob kills the job's attempts, waits for them to end, forgets them and
// removes the job's task directory. The caller calls done once it has
// answered for the job: until then a drain waits for it (drain.go).
func (w *Worker) endJob(job string, cause error) (done func()) {
	w.mu.Lock()
	w.ending++
	var attempts, failed []*attempt
	for k, a := range w.attempts {
		if k.job == job {
			attempts = append(attempts, a)
			delete(w.attempts, k)
			if a.finished && !a.ok {
				failed = append(failed, a)
			}
		}
	}
	for s := range w.jobs[job] {
		delete(s.jobs, job)
	}
	delete(w.jobs, job)
	w.slots.drop(notFound("job %s ended on worker %s while it waited for a slot", job, w.id),
		func(j string, _ *session) bool { return j == job })
	w.mu.Unlock()

	for _, a := range attempts {
		a.kill(cause)
	}
	for _, a := range attempts {
		<-a.done // bounded: a killed process group is SIGKILLed after KillGrace
	}
	w.keepFailedLogs(job, failed)
	if err := os.RemoveAll(w.jobDir(job)); err != nil {
		w.logger().Warn("remove job directory", "job", job, "err", err)
	}
	return func() {
		w.mu.Lock()
		w.ending--
		w.changedLocked()
		w.mu.Unlock()
	}
}

func (w *Worker) handleEndJob(st *yamux.Stream, h proto.Header) error {
	var req proto.EndJobRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkName("job id", req.Job); err != nil {
		return err
	}
	if err := checkHeaderJob(h, req.Job); err != nil {
		return err
	}
	done := w.endJob(req.Job, errJobEnded)
	defer done() // a drain waits for this answer
	return proto.WriteFrame(st, &proto.Reply{})
}
