package client

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/s3store"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/tracker"
)

// inputPlan is the --input arguments sorted by where the data lives.
type inputPlan struct {
	local, s3, worker []string // worker: without the "worker:" prefix
}

// planInputs sorts the --input arguments by kind, and refuses a worker:
// path that could leave the workers' data directories.
func planInputs(patterns []string) (inputPlan, error) {
	var p inputPlan
	for _, in := range patterns {
		switch storage.KindOf(in) {
		case storage.S3:
			if _, _, err := s3store.ParseURL(in); err != nil {
				return p, fmt.Errorf("%w: --input %s: %v", ErrNoInput, in, err)
			}
			p.s3 = append(p.s3, in)
		case storage.Worker:
			rel := strings.TrimPrefix(in, storage.WorkerPrefix)
			if err := checkWorkerPath(rel); err != nil {
				return p, fmt.Errorf("%w: --input %s: %v", ErrNoInput, in, err)
			}
			p.worker = append(p.worker, rel)
		default:
			p.local = append(p.local, in)
		}
	}
	return p, nil
}

// checkWorkerPath refuses a worker: path that is empty, absolute or has a
// ".." element: it names files under each worker's --data-dir, nothing
// else (the worker checks again).
func checkWorkerPath(rel string) error {
	switch {
	case rel == "":
		return fmt.Errorf("name files under the workers' data dir (--data-dir), e.g. worker:app/*.log")
	case path.IsAbs(rel):
		return fmt.Errorf("path %q is absolute: worker: paths are relative to each worker's data dir, its --data-dir (worker:app/*.log)", rel)
	case slices.Contains(strings.Split(rel, "/"), ".."):
		return fmt.Errorf("path %q leaves the data dir: name files under it (worker:app/*.log)", rel)
	}
	return nil
}

// workerSplits lists the worker: inputs on every worker that serves them
// (--data-dir) and cuts them into splits, each pinned to its worker: a
// worker's matches are its own data. Workers that join later are not
// asked. With slots > 0 small files are packed (packSplits).
func workerSplits(ctx context.Context, p *pool, ws []registry.WorkerInfo, patterns []string, size int64, whole bool, slots int) ([]split, []tracker.Pin, error) {
	var objs []storage.Object
	var asked []string
	for _, w := range ws {
		if !w.Data {
			continue
		}
		asked = append(asked, w.ID)
		s, _, err := p.session(ctx, w)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: list worker: inputs on worker %s (%s): %w", ErrNoInput, w.ID, w.Addr, err)
		}
		var rep proto.ListDataReply
		if err := s.Call(ctx, proto.OpListData, p.job, &proto.ListDataRequest{Patterns: patterns}, &rep); err != nil {
			return nil, nil, fmt.Errorf("%w: list worker: inputs on worker %s (%s): %w", ErrNoInput, w.ID, w.Addr, err)
		}
		for _, f := range rep.Files {
			objs = append(objs, storage.Object{Name: storage.WorkerPrefix + f.Path, Kind: storage.Worker, Size: f.Size,
				Version: fmt.Sprint(f.ModTime), Worker: w.ID})
		}
	}
	in := "--input worker:" + strings.Join(patterns, " worker:")
	switch {
	case len(asked) == 0:
		return nil, nil, fmt.Errorf("%w: %s: no worker serves worker: inputs: start workers with --data-dir DIR", ErrNoInput, in)
	case len(objs) == 0:
		return nil, nil, fmt.Errorf("%w: %s matched no file on the %d workers with a --data-dir (%s)", ErrNoInput, in, len(asked), strings.Join(asked, ", "))
	}
	name := func(o storage.Object) string {
		return storage.WorkerPrefix + o.Worker + ":" + strings.TrimPrefix(o.Name, storage.WorkerPrefix)
	}
	splits := rangeSplits(objs, size, whole, name)
	if slots > 0 {
		splits = packSplits(splits, size, slots) // a pack holds one worker's files
	}
	pins := make([]tracker.Pin, len(splits))
	for i, sp := range splits {
		in := sp.Obj.Name
		if len(sp.Pieces) > 0 {
			in = fmt.Sprintf("%s and %d more files", sp.Pieces[0].Obj.Name, len(sp.Pieces)-1)
		}
		pins[i] = tracker.Pin{Worker: sp.Obj.Worker, Input: in}
	}
	return splits, pins, nil
}

// listTimeout bounds listing the inputs and checking the output in
// Prepare, which has no context of its own.
const listTimeout = 2 * time.Minute
