package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/proto"
)

// Worker-local data (dist worker --data-dir): files the worker serves as
// worker: inputs, read in place by the maps that run on it, through
// localfs.Beneath. The data dir is read only and opt-in. A name from the
// wire is a slash-separated path relative to it, never absolute and never
// with a ".." element; it is opened beneath the data dir (openat2
// RESOLVE_BENEATH), so a symlink is followed only while it stays beneath
// it.

// maxDataPatterns bounds the patterns of one ListData call.
const maxDataPatterns = 1024

// checkDataPath refuses a worker: path or pattern that would leave the
// data dir.
func checkDataPath(p string) error {
	if path.IsAbs(p) || filepath.IsAbs(p) || slices.Contains(strings.Split(p, "/"), "..") {
		return proto.Errorf(proto.CodeBadRequest,
			"worker: path %q leaves the data dir: name files under it (worker:app/*.log)", p)
	}
	return nil
}

// noDataDir is the refusal of a worker: input by a worker without one.
func (w *Worker) noDataDir() *proto.Error {
	return proto.Errorf(proto.CodeUnsupported, "worker %s serves no worker: inputs: start it with --data-dir DIR", w.ID())
}

// handleListData lists the files under the data dir that match patterns.
func (w *Worker) handleListData(st *yamux.Stream) error {
	var req proto.ListDataRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if w.data == nil {
		return w.noDataDir()
	}
	if len(req.Patterns) > maxDataPatterns {
		return proto.Errorf(proto.CodeTooLarge, "ListData names %d patterns, at most %d are served: use fewer --input worker: patterns",
			len(req.Patterns), maxDataPatterns)
	}
	files, err := w.listData(w.ctx, req.Patterns)
	if err != nil {
		return err
	}
	err = proto.WriteFrame(st, &proto.ListDataReply{Files: files})
	if errors.Is(err, proto.ErrFrameTooLarge) {
		return proto.Errorf(proto.CodeTooLarge, "worker %s: the worker: patterns match %d files, more than one reply lists: name fewer files",
			w.ID(), len(files))
	}
	return err
}

// listData expands patterns (globs relative to the data dir) into the
// files they name, sorted by path, each once. A match is a file, or a
// directory standing for the visible regular files directly inside it,
// as a local --input is (localfs.FS.List). Zero matches are no error: the
// client decides, over all workers, whether nothing matched.
func (w *Worker) listData(ctx context.Context, patterns []string) ([]proto.DataFile, error) {
	byPath := map[string]proto.DataFile{}
	for _, p := range patterns {
		if err := checkDataPath(p); err != nil {
			return nil, err
		}
		objs, err := w.data.List(ctx, p)
		if errors.Is(err, storage.ErrNoMatch) {
			continue
		}
		if err != nil {
			return nil, w.dataError(p, err)
		}
		for _, o := range objs {
			f := proto.DataFile{Path: strings.TrimPrefix(o.Name, storage.WorkerPrefix), Size: o.Size}
			f.ModTime, _ = strconv.ParseInt(o.Version, 10, 64)
			byPath[f.Path] = f
		}
	}
	files := make([]proto.DataFile, 0, len(byPath))
	for _, f := range byPath {
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b proto.DataFile) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// dataError words a failure to list or open rel under the data dir.
func (w *Worker) dataError(rel string, err error) error {
	switch {
	case errors.Is(err, localfs.ErrBadPattern):
		return proto.Errorf(proto.CodeBadRequest, "worker: pattern %q is not a valid glob: %v", path.Clean(rel), path.ErrBadPattern)
	case errors.Is(err, localfs.ErrOutside):
		return fmt.Errorf("%w: %w", proto.Errorf(proto.CodeBadRequest,
			"worker:%s on worker %s leads outside the data dir through a symlink: name files under it", rel, w.ID()), err)
	case errors.Is(err, localfs.ErrNotRegular):
		return proto.Errorf(proto.CodeBadRequest, "worker:%s on worker %s is not a regular file: name files or directories", rel, w.ID())
	}
	return w.unreadable(rel, err)
}

// unreadable is the error of a data file the worker cannot read.
func (w *Worker) unreadable(rel string, err error) error {
	cause := err
	var pe *os.PathError
	switch {
	case errors.As(err, &pe):
		cause = pe.Err
	case errors.Is(err, localfs.ErrNotRegular):
		cause = localfs.ErrNotRegular
	}
	return fmt.Errorf("%w: %w", proto.Errorf(proto.CodeNotFound, "worker %s cannot read worker:%s: %v", w.ID(), rel, cause), err)
}
