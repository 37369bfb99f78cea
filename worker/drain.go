package worker

import (
	"context"
	"time"
)

// drain lets running attempts finish for up to DrainTimeout while the
// worker refuses new ones (it is marked closed and deregistered already).
// What is still running afterwards is killed by the caller.
func (w *Worker) drain(ctx context.Context, attempts []*attempt) {
	if w.cfg.DrainTimeout <= 0 || len(attempts) == 0 {
		return
	}
	w.logger().Info("draining: letting running tasks finish", "running", len(attempts), "timeout", w.cfg.DrainTimeout)
	timer := time.NewTimer(w.cfg.DrainTimeout)
	defer timer.Stop()
	for _, a := range attempts {
		select {
		case <-a.reported:
		case <-timer.C:
			w.logger().Warn("drain timeout: killing the tasks still running")
			return
		case <-ctx.Done():
			return
		}
	}
}
