package worker

import (
	"context"
	"time"
)

// Draining. Shutdown (SIGTERM) first drains the worker: it refuses new
// work (Launch, PutInput and WaitSlot answer shutting_down), says so in
// its registry node (WorkerInfo.Draining) so that clients place nothing
// more on it, and keeps serving what it holds: running attempts finish
// and report, and finished map outputs stay available to reduces. A
// draining worker is not lost to its jobs; what it finishes counts.
//
// The drain ends once no attempt runs and no job uses the worker any
// more (each ended by EndJob or by its client's session closing), or
// when DrainTimeout passes. Only then does Shutdown delete the node,
// kill what still runs and close the sessions.

// drainJobs marks the worker draining and waits, up to DrainTimeout or
// ctx, until no attempt runs and no job uses it. With no DrainTimeout it
// returns at once.
func (w *Worker) drainJobs(ctx context.Context) {
	if w.cfg.DrainTimeout <= 0 {
		return
	}
	w.mu.Lock()
	log := w.logLocked()
	w.draining = true
	w.slots.drop(shuttingDown(w.id), func(string, *session) bool { return true })
	registered := w.registered
	w.mu.Unlock()
	if registered {
		// Without the notice clients still learn it from refused
		// launches; the drain goes on.
		if err := w.cfg.Registrar.Update(ctx, w.Info()); err != nil {
			log.Warn("could not mark the worker draining in the registry", "err", err)
		}
	}
	timer := time.NewTimer(w.cfg.DrainTimeout)
	defer timer.Stop()
	said := false
	for {
		w.mu.Lock()
		running, jobs, changed := w.slots.inUse(), len(w.jobs)+w.ending, w.changed
		w.mu.Unlock()
		if running == 0 && jobs == 0 {
			return
		}
		if !said {
			log.Info("draining: refusing new tasks, serving until the jobs using this worker end",
				"running", running, "jobs", jobs, "timeout", w.cfg.DrainTimeout)
			said = true
		}
		select {
		case <-changed:
		case <-timer.C:
			log.Warn("drain timeout: stopping", "running", running, "jobs", jobs)
			return
		case <-ctx.Done():
			return
		}
	}
}

// changedLocked wakes a drain waiting for attempts and jobs to end.
func (w *Worker) changedLocked() {
	close(w.changed)
	w.changed = make(chan struct{})
}
