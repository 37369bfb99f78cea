package localfs

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/distmr/dist/io/storage"
)

// FS reads the files of this machine (New), or only those beneath one
// directory (Beneath). It is safe for concurrent use.
type FS struct {
	root string // "" for New; else the directory names are relative to

	// Logger is told of each match List skips: beneath a root, a file a
	// glob matched whose symlinks lead outside it. nil discards.
	Logger *slog.Logger
}

var (
	_ storage.Store      = (*FS)(nil)
	_ storage.FileOpener = (*FS)(nil)
)

// New reads any path this process can: the client's --input files.
// Objects are named by their paths as matched (relative ones stay
// relative) and are of Kind storage.Local.
func New() *FS { return &FS{} }

// Beneath reads only beneath root (a worker's --data-dir), read only.
// Objects are named "worker:" + a slash-separated path relative to root
// and are of Kind storage.Worker; List and Open take such names with or
// without the prefix, and refuse one that is absolute or has a ".."
// element (ErrOutside).
func Beneath(root string) *FS { return &FS{root: root} }

// List expands pattern (a path or glob; beneath a root, relative to it)
// into the files it names, sorted by name: a regular file it matches,
// and the visible regular files directly inside a directory it matches
// (not symlinks, nor names starting with "." or "_"). A directory with
// none gives nothing; a pattern that matches nothing fails with an error
// wrapping storage.ErrNoMatch. Beneath a root, a file a glob matched
// whose symlinks lead outside it is skipped (and logged); one the
// pattern names itself fails with ErrOutside.
func (fsys *FS) List(ctx context.Context, pattern string) ([]storage.Object, error) {
	var matches []string
	var err error
	if fsys.root == "" {
		matches, err = filepath.Glob(pattern)
	} else {
		if pattern, err = fsys.rel(pattern); err != nil {
			return nil, err
		}
		matches, err = iofs.Glob(os.DirFS(fsys.root), pattern)
	}
	if err != nil {
		return nil, newError(fmt.Sprintf("%q is not a valid glob: %v", pattern, err), ErrBadPattern, err)
	}
	if len(matches) == 0 {
		return nil, newError(fmt.Sprintf("%q matched no file", pattern), storage.ErrNoMatch)
	}
	var objs []storage.Object
	for _, m := range matches {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		files, err := fsys.files(m)
		if errors.Is(err, ErrOutside) && m != pattern {
			// A glob matched it; the user did not name it.
			if fsys.Logger != nil {
				fsys.Logger.Warn("input skipped: a symlink leads outside the data dir", "path", m)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		objs = append(objs, files...)
	}
	slices.SortFunc(objs, func(a, b storage.Object) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(objs, func(a, b storage.Object) bool { return a.Name == b.Name }), nil
}

// files returns name itself if it is a regular file, or the visible
// regular files directly inside it if it is a directory.
func (fsys *FS) files(name string) ([]storage.Object, error) {
	f, fi, err := fsys.stat(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	switch {
	case fi.Mode().IsRegular():
		return []storage.Object{fsys.object(name, fi)}, nil
	case !fi.IsDir():
		return nil, newError(fmt.Sprintf("input %s is not a regular file: name files or directories", fsys.display(name)), ErrNotRegular)
	}
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, newError(fmt.Sprintf("cannot list input directory %s: %v", fsys.display(name), err), err)
	}
	var out []storage.Object
	for _, e := range ents {
		if hidden(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		child := filepath.Join(name, e.Name())
		if fsys.root != "" {
			child = path.Join(name, e.Name())
		}
		cf, cfi, err := fsys.stat(child)
		if errors.Is(err, iofs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		cf.Close()
		if cfi.Mode().IsRegular() {
			out = append(out, fsys.object(child, cfi))
		}
	}
	return out, nil
}

// hidden says whether a directory's entry is one that listings skip, as
// Hadoop does: _SUCCESS, a lock, editor and tool files.
func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// stat opens name and stats it.
func (fsys *FS) stat(name string) (*os.File, os.FileInfo, error) {
	f, err := fsys.open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fsys.unreadable(name, err)
	}
	return f, fi, nil
}

// object describes a listed file.
func (fsys *FS) object(name string, fi os.FileInfo) storage.Object {
	if fsys.root == "" {
		return storage.Object{Name: name, Kind: storage.Local, Size: fi.Size(), Version: Version(fi)}
	}
	return storage.Object{Name: storage.WorkerPrefix + name, Kind: storage.Worker, Size: fi.Size(), Version: Version(fi)}
}

// Version is what must still hold of a file when it is read: its
// modification time in nanoseconds, in decimal.
func Version(fi os.FileInfo) string { return strconv.FormatInt(fi.ModTime().UnixNano(), 10) }

// rel returns a name beneath the root without its "worker:" prefix,
// cleaned ("app/" is "app", "" the root itself), refusing one that would
// leave the root.
func (fsys *FS) rel(name string) (string, error) {
	name = strings.TrimPrefix(name, storage.WorkerPrefix)
	if path.IsAbs(name) || filepath.IsAbs(name) || slices.Contains(strings.Split(name, "/"), "..") {
		return "", newError(fmt.Sprintf("path %q leaves the data dir: name files under it", name), ErrOutside)
	}
	return path.Clean(name), nil
}

// display names a file in a message.
func (fsys *FS) display(name string) string {
	if fsys.root == "" {
		return name
	}
	return storage.WorkerPrefix + name
}

// unreadable is the error of a file that cannot be opened or read.
func (fsys *FS) unreadable(name string, err error) error {
	cause := err
	var pe *os.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	if errors.Is(err, ErrOutside) {
		return newError(fmt.Sprintf("%s leads outside the data dir through a symlink: name files under it", fsys.display(name)), err)
	}
	return newError(fmt.Sprintf("cannot read input %s: %v", fsys.display(name), cause), err)
}
