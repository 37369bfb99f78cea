package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

// Detached jobs (dist run --detach): the client checks the job as for a
// run, ships its programs to a worker that hosts job masters and hands
// the job over; the worker's master runs it once the client is gone.

// ErrNoMasterHost: no worker hosts job masters, or every one refused.
var ErrNoMasterHost = errors.New("no worker takes detached jobs")

// Detachable checks that cfg's data outlives the client: no input on the
// client's disk (s3:// and worker: inputs only) and an s3:// output.
func Detachable(cfg Config) error {
	for _, in := range cfg.Inputs {
		if storage.KindOf(in) == storage.Local {
			return fmt.Errorf("--detach: input %s is on this machine; a detached job cannot read it once dist run exits: use s3:// or worker: inputs", in)
		}
	}
	if storage.KindOf(cfg.Output) != storage.S3 {
		return fmt.Errorf("--detach: output %s is on this machine; a detached job cannot write it once dist run exits: use an s3:// output", cfg.Output)
	}
	return nil
}

// Submitted says where a detached job went.
type Submitted struct {
	Job    string
	Master string // the address of the worker hosting its master
}

// Detach submits the job to one of workers that hosts job masters
// (WorkerInfo.Masters > 0), those with the fewest masters running first
// (running counts them by worker id): it ships the programs there and
// sends args, the job's dist run flags (master.DetachableFlags only), and
// user. A worker that is full or draining is skipped for the next.
func (j *Job) Detach(ctx context.Context, workers []registry.WorkerInfo, running map[string]int, args []string, user string) (Submitted, error) {
	if err := Detachable(j.cfg); err != nil {
		return Submitted{}, err
	}
	hosts := slices.DeleteFunc(slices.Clone(workers), func(w registry.WorkerInfo) bool {
		return w.Masters <= 0 || w.Draining
	})
	if len(hosts) == 0 {
		return Submitted{}, fmt.Errorf("%w: none of the %d workers hosts job masters: start one with dist worker --masters N --zk", ErrNoMasterHost, len(workers))
	}
	slices.SortStableFunc(hosts, func(a, b registry.WorkerInfo) int {
		return running[a.ID]*b.Masters - running[b.ID]*a.Masters // by load, as fractions
	})
	spec := proto.JobSpec{ID: j.id, User: user, Args: args, Programs: j.prog.jobFiles()}
	p := newPool(proto.Options{Secret: j.cfg.Secret, TLS: j.cfg.TLS, KeepAlive: j.cfg.KeepAlive}, j.prog, j.id)
	defer p.closeSessions()
	var errs []error
	busy := 0
	for i, w := range hosts {
		master, err := submitTo(ctx, p, w, spec)
		if err == nil {
			shipStandby(ctx, p, hosts[i+1:])
			return Submitted{Job: j.id, Master: master}, nil
		}
		if !tryNext(ctx, err) {
			return Submitted{}, fmt.Errorf("submit to worker %s (%s): %w", w.ID, w.Addr, err)
		}
		if proto.IsCode(err, proto.CodeBusy) {
			busy++
		}
		errs = append(errs, fmt.Errorf("worker %s: %w", w.ID, err))
	}
	if busy == len(hosts) {
		slots := 0
		for _, w := range hosts {
			slots += w.Masters
		}
		return Submitted{}, fmt.Errorf("%w: the %d workers that host job masters run as many as their --masters allow (%d in all): wait for a job to end (dist jobs), or start workers with a larger --masters",
			ErrNoMasterHost, len(hosts), slots)
	}
	return Submitted{}, fmt.Errorf("%w: %w", ErrNoMasterHost, errors.Join(errs...))
}

// tryNext says whether a submit that failed with err may succeed on
// another worker: this one is full, draining or unreachable. A refusal of
// the job itself (a bad flag, a failed authentication) would be the same
// everywhere.
func tryNext(ctx context.Context, err error) bool {
	if ctx.Err() != nil || proto.IsAuth(err) {
		return false
	}
	var e *proto.Error
	if !errors.As(err, &e) {
		return true // the network: the dial or the session failed
	}
	return e.Code == proto.CodeBusy || e.Code == proto.CodeShuttingDown || e.Code == proto.CodeUnsupported
}

// submitTo ships the programs to w and submits spec there.
func submitTo(ctx context.Context, p *pool, w registry.WorkerInfo, spec proto.JobSpec) (string, error) {
	s, c, err := p.session(ctx, w)
	if err != nil {
		return "", err
	}
	if err := p.ship(ctx, s, c); err != nil {
		return "", err
	}
	var r proto.SubmitJobReply
	if err := s.Call(ctx, proto.OpSubmitJob, spec.ID, &proto.SubmitJobRequest{Spec: spec}, &r); err != nil {
		return "", err
	}
	return r.Master, nil
}

// standbyTimeout bounds shipping the programs to a standby.
const standbyTimeout = 5 * time.Second

// shipStandby ships the programs to the first of hosts that takes them,
// as a standby: a worker's master host stands for every job whose
// programs its cache holds, and until a task of the job ran elsewhere the
// master's own worker would be the only one. Best effort: the job runs
// without it, and workers that run its tasks stand by as well.
func shipStandby(ctx context.Context, p *pool, hosts []registry.WorkerInfo) {
	ctx, cancel := context.WithTimeout(ctx, standbyTimeout)
	defer cancel()
	for _, w := range hosts {
		s, c, err := p.session(ctx, w)
		if err == nil && p.ship(ctx, s, c) == nil {
			return
		}
	}
}

// jobFiles lists the program's files as a detached job's spec names them.
func (p *program) jobFiles() []proto.JobFile {
	var fs []proto.JobFile
	for _, pt := range p.parts {
		flag := "app"
		if pt.role != "" {
			flag = pt.role // "mapper", "reducer", "combiner"
		}
		fs = append(fs, proto.JobFile{Flag: flag, Name: pt.art.Name, SHA: pt.art.SHA256, Size: pt.art.Size})
	}
	for _, f := range p.files {
		fs = append(fs, proto.JobFile{Flag: "file", Name: f.Name, SHA: f.SHA256, Size: f.Size})
	}
	return fs
}
