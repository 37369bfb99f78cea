package worker

import (
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Jobs and their attempts. A job lives on a worker while some session
// owns it: the sessions that staged input for it or launched its attempts
// (its client). Peer workers fetching map outputs never own a job. When
// the last owner's session closes, or EndJob arrives, the job's attempts
// are killed and its task directory removed. A submitted job's master
// may be replaced (its launches say Hosted): when its last owner goes, its
// running attempts are killed and forgotten, but its finished ones, and
// the map outputs they serve, stay for OrphanGrace, until a new master's
// session owns the job again or the time is up.
//
// The Worker keeps the collection of attempts by key; each attempt runs
// itself (attempt.go). Lock order: Worker.mu, then an attempt's mu or
// slots.mu.

// jobDir is <Dir>/tasks/<job>.
func (w *Worker) jobDir(job string) string {
	return filepath.Join(w.cfg.Dir, "tasks", job)
}

// attemptDir is <Dir>/tasks/<job>/<task>-<attempt>.
func (w *Worker) attemptDir(k attemptKey) string {
	return filepath.Join(w.jobDir(k.job), k.dirName())
}

// admit gives a new attempt of key a slot and makes s an owner of its
// job: the attempt is then the worker's, until its job ends.
func (w *Worker) admit(s *session, key attemptKey, hosted bool) (*attempt, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stoppingLocked() {
		return nil, shuttingDown(w.id)
	}
	if _, dup := w.attempts[key]; dup {
		return nil, proto.Errorf(proto.CodeBadRequest,
			"%s of job %s was already launched on worker %s: launch a new attempt number", key, key.job, w.id)
	}
	if err := w.slots.take(key.job, w.id); err != nil {
		return nil, err
	}
	a := newAttempt(w, key, w.attemptDir(key), w.log)
	w.attempts[key] = a
	w.ownLocked(s, key.job)
	if hosted {
		w.hosted[key.job] = true
	}
	return a, nil
}

// freeSlot gives back the slot of an attempt that is done; it goes to the
// job waiting longest.
func (w *Worker) freeSlot() {
	w.slots.release()
	w.mu.Lock()
	w.changedLocked()
	w.mu.Unlock()
}

// finishedOK returns the attempt of key and its result if it ended
// successfully on this worker.
func (w *Worker) finishedOK(key attemptKey) (*attempt, *spec.Result, bool) {
	w.mu.Lock()
	a := w.attempts[key]
	w.mu.Unlock()
	if a == nil {
		return nil, nil, false
	}
	res, ok := a.succeeded()
	if !ok {
		return nil, nil, false
	}
	return a, res, true
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
	if t := w.orphans[job]; t != nil {
		t.Stop()
		delete(w.orphans, job)
	}
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
		if w.keepOrphan(job) {
			s.log.Info("job master gone: keeping the job's finished outputs for a master taking it over", "job", job, "for", w.cfg.OrphanGrace)
			continue
		}
		s.log.Info("job owner gone: ending job", "job", job)
		w.endJob(job, errJobEnded)()
	}
}

// keepOrphan keeps a hosted job that lost its last owner for
// OrphanGrace: its running attempts are killed and forgotten (a new master
// runs them again, maybe under the same attempt numbers), its finished
// ones stay. It reports false for a job that is not hosted; a job that
// found an owner again since release let go of the lock is left alone.
func (w *Worker) keepOrphan(job string) bool {
	w.mu.Lock()
	if !w.hosted[job] || w.stoppingLocked() {
		w.mu.Unlock()
		return false
	}
	if len(w.jobs[job]) > 0 {
		w.mu.Unlock()
		return true // a new master's session owns it already
	}
	var running, failed []*attempt
	for k, a := range w.attempts {
		if k.job != job {
			continue
		}
		if _, ok := a.succeeded(); !ok {
			running = append(running, a)
			if a.failed() {
				failed = append(failed, a)
			}
		}
	}
	var t *time.Timer
	t = time.AfterFunc(w.cfg.OrphanGrace, func() {
		w.mu.Lock()
		mine := w.orphans[job] == t
		if mine {
			delete(w.orphans, job)
		}
		w.mu.Unlock()
		if mine {
			w.log.Info("no master took the job over: ending it", "job", job)
			w.endJob(job, errJobEnded)()
		}
	})
	w.orphans[job] = t
	w.mu.Unlock()
	for _, a := range running {
		a.kill(errJobEnded)
	}
	for _, a := range running {
		<-a.done
	}
	w.keepFailedLogs(job, failed) // before their directories go
	for _, a := range running {
		if err := os.RemoveAll(a.dir); err != nil {
			w.log.Warn("remove a killed attempt's directory", "job", job, "err", err)
		}
	}
	// Forgotten only now: until its process ended and its directory went,
	// a new attempt under the same number must not be admitted into it.
	w.mu.Lock()
	for _, a := range running {
		if w.attempts[a.key] == a {
			delete(w.attempts, a.key)
		}
	}
	w.mu.Unlock()
	return true
}

// endJob kills the job's attempts, waits for them to end, forgets them and
// removes the job's task directory. The caller calls done once it has
// answered for the job: until then a drain waits for it (drain.go).
func (w *Worker) endJob(job string, cause error) (done func()) {
	w.mu.Lock()
	w.ending++
	var attempts, failed, succeeded []*attempt
	for k, a := range w.attempts {
		if k.job == job {
			attempts = append(attempts, a)
			delete(w.attempts, k)
			if a.failed() {
				failed = append(failed, a)
			} else if _, ok := a.succeeded(); ok {
				succeeded = append(succeeded, a)
			}
		}
	}
	for s := range w.jobs[job] {
		delete(s.jobs, job)
	}
	delete(w.jobs, job)
	delete(w.hosted, job)
	if t := w.orphans[job]; t != nil {
		t.Stop()
		delete(w.orphans, job)
	}
	w.slots.drop(notFound("job %s ended on worker %s while it waited for a slot", job, w.id),
		func(j string, _ *session) bool { return j == job })
	w.mu.Unlock()

	for _, a := range attempts {
		a.kill(cause)
	}
	for _, a := range attempts {
		<-a.done // bounded: a killed process group is SIGKILLed after KillGrace
	}
	w.keepSucceededLogs(job, succeeded)
	w.keepFailedLogs(job, failed)
	if err := os.RemoveAll(w.jobDir(job)); err != nil {
		w.log.Warn("remove job directory", "job", job, "err", err)
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
