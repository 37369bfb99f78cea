package worker

import (
	"context"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/proto"
)

// JobHost runs detached jobs' masters on this worker (package
// worker/master): the worker hands it SubmitJob and KillJob.
type JobHost interface {
	// Submit records spec's job and stands for its master; it returns
	// the address of the worker that hosts the master.
	Submit(ctx context.Context, spec proto.JobSpec) (master string, err error)
	// Kill kills job, whose master this host must run.
	Kill(ctx context.Context, job string) error
	// Slots is how many masters the host runs at once.
	Slots() int
	// Cached says the worker's cache now holds the artifact sha: the host
	// may stand by for a job whose programs it was missing. It must not
	// block.
	Cached(sha string)
}

// jobHostTimeout bounds one SubmitJob or KillJob: a few ZooKeeper writes.
const jobHostTimeout = 30 * time.Second

// noJobHost is the answer of a worker without a JobHost.
func noJobHost() *proto.Error {
	return proto.Errorf(proto.CodeUnsupported, "this worker hosts no job masters: start it with --masters N and --zk")
}

func (w *Worker) handleSubmitJob(st *yamux.Stream, h proto.Header) error {
	var req proto.SubmitJobRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if w.cfg.JobHost == nil {
		return noJobHost()
	}
	if err := checkHeaderJob(h, req.Spec.ID); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, jobHostTimeout)
	defer cancel()
	master, err := w.cfg.JobHost.Submit(ctx, req.Spec)
	if err != nil {
		return err
	}
	w.log.Info("detached job submitted", "job", req.Spec.ID, "user", req.Spec.User, "master", master)
	return proto.WriteFrame(st, &proto.SubmitJobReply{Job: req.Spec.ID, Master: master})
}

func (w *Worker) handleKillJob(st *yamux.Stream, h proto.Header) error {
	var req proto.KillJobRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if w.cfg.JobHost == nil {
		return noJobHost()
	}
	if err := checkName("job id", req.Job); err != nil {
		return err
	}
	if err := checkHeaderJob(h, req.Job); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(w.ctx, jobHostTimeout)
	defer cancel()
	if err := w.cfg.JobHost.Kill(ctx, req.Job); err != nil {
		return err
	}
	return proto.WriteFrame(st, &proto.Reply{})
}

// CachedArtifact returns the path of the artifact sha in the worker's
// cache, if it holds a good copy, and marks it as just used.
func (w *Worker) CachedArtifact(sha string) (path string, ok bool) {
	if checkSHA(sha) != nil || !w.cache.has(sha) {
		return "", false
	}
	return w.cache.path(sha), true
}
