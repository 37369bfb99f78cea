package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/yamux"
	"golang.org/x/sys/unix"

	"github.com/distmr/dist/proto"
)

// Worker-local data (dist worker --data-dir): files the worker serves as
// worker: inputs, read in place by the maps that run on it. The data dir
// is read only and opt-in. A name from the wire is a slash-separated path
// relative to it, never absolute and never with a ".." element; it is
// opened beneath the data dir (openat2 RESOLVE_BENEATH), so a symlink is
// followed only while it stays beneath it.

// maxDataPatterns bounds the patterns of one ListData call.
const maxDataPatterns = 1024

// errOutsideData marks a path whose symlinks lead outside the data dir.
var errOutsideData = errors.New("leads outside the data dir")

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

// openData opens rel (checked with checkDataPath) beneath the data dir.
// A path that leads outside it through a symlink is errOutsideData.
func (w *Worker) openData(rel string) (*os.File, error) {
	dir := w.cfg.DataDir
	// O_NONBLOCK: a named pipe in the data dir must not hang the worker.
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(root)
	full := filepath.Join(dir, filepath.FromSlash(rel))
	fd, err := openat2Data(root, rel, flags)
	// ENOSYS: a kernel before 5.6; EPERM: a seccomp filter that does not
	// know openat2.
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		return openResolved(dir, full, flags)
	}
	if errors.Is(err, unix.EXDEV) {
		return nil, &os.PathError{Op: "open", Path: full, Err: errOutsideData}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}

// openResolved opens full after resolving its symlinks and checking that
// it stays beneath dir, where openat2 is missing.
func openResolved(dir, full string, flags int) (*os.File, error) {
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(base, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, &os.PathError{Op: "open", Path: full, Err: errOutsideData}
	}
	fd, err := unix.Open(real, flags|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}

// handleListData lists the files under the data dir that match patterns.
func (w *Worker) handleListData(st *yamux.Stream) error {
	var req proto.ListDataRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if w.cfg.DataDir == "" {
		return w.noDataDir()
	}
	if len(req.Patterns) > maxDataPatterns {
		return proto.Errorf(proto.CodeTooLarge, "ListData names %d patterns, at most %d are served: use fewer --input worker: patterns",
			len(req.Patterns), maxDataPatterns)
	}
	files, err := w.listData(req.Patterns)
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
// as a local --input is. Zero matches are no error: the client decides,
// over all workers, whether nothing matched.
func (w *Worker) listData(patterns []string) ([]proto.DataFile, error) {
	byPath := map[string]proto.DataFile{}
	root := os.DirFS(w.cfg.DataDir)
	for _, p := range patterns {
		if err := checkDataPath(p); err != nil {
			return nil, err
		}
		p = path.Clean(p) // "app/" is "app", "" the data dir itself
		matches, err := fs.Glob(root, p)
		if err != nil {
			return nil, proto.Errorf(proto.CodeBadRequest, "worker: pattern %q is not a valid glob: %v", p, err)
		}
		for _, m := range matches {
			files, err := w.dataFiles(m)
			if errors.Is(err, errOutsideData) && m != p {
				// A glob matched it; the user did not name it.
				w.log.Warn("worker: input skipped: a symlink leads outside the data dir", "path", m)
				continue
			}
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				byPath[f.Path] = f
			}
		}
	}
	files := make([]proto.DataFile, 0, len(byPath))
	for _, f := range byPath {
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b proto.DataFile) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// dataFiles returns rel itself if it is a regular file, or the visible
// regular files directly inside it if it is a directory (not symlinks, as
// for a local --input directory).
func (w *Worker) dataFiles(rel string) ([]proto.DataFile, error) {
	f, fi, err := w.statData(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	switch {
	case fi.Mode().IsRegular():
		return []proto.DataFile{dataFile(rel, fi)}, nil
	case !fi.IsDir():
		return nil, proto.Errorf(proto.CodeBadRequest, "worker:%s on worker %s is not a regular file: name files or directories", rel, w.ID())
	}
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, w.unreadable(rel, err)
	}
	var out []proto.DataFile
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") || !e.Type().IsRegular() {
			continue
		}
		child := path.Join(rel, e.Name())
		cf, cfi, err := w.statData(child)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		cf.Close()
		if cfi.Mode().IsRegular() {
			out = append(out, dataFile(child, cfi))
		}
	}
	return out, nil
}

// statData opens rel beneath the data dir and stats it.
func (w *Worker) statData(rel string) (*os.File, os.FileInfo, error) {
	f, err := w.openData(rel)
	if errors.Is(err, errOutsideData) {
		return nil, nil, fmt.Errorf("%w: %w", proto.Errorf(proto.CodeBadRequest,
			"worker:%s on worker %s leads outside the data dir through a symlink: name files under it", rel, w.ID()), errOutsideData)
	}
	if err != nil {
		return nil, nil, w.unreadable(rel, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, w.unreadable(rel, err)
	}
	return f, fi, nil
}

// unreadable is the error of a data file the worker cannot read.
func (w *Worker) unreadable(rel string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("%w: %w", proto.Errorf(proto.CodeNotFound, "worker %s cannot read worker:%s: %v", w.ID(), rel, err), err)
}

// dataFile describes one file of the data dir.
func dataFile(rel string, fi os.FileInfo) proto.DataFile {
	return proto.DataFile{Path: rel, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
}
