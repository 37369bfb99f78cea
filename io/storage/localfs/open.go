package localfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/distmr/dist/io/storage"
)

// ChangedError says how a file differs from the object it was listed as.
// It wraps storage.ErrChanged.
type ChangedError struct {
	Obj     storage.Object // as listed
	Size    int64          // now
	ModTime time.Time      // now
}

func (e *ChangedError) Error() string {
	if e.Size != e.Obj.Size {
		return fmt.Sprintf("input %s changed since the job listed it (size %d → %d): rerun the job on input that stays put",
			e.Obj.Name, e.Obj.Size, e.Size)
	}
	return fmt.Sprintf("input %s changed since the job listed it (modified %s, listed as of %s): rerun the job on input that stays put",
		e.Obj.Name, e.ModTime.UTC().Format(time.RFC3339Nano), VersionTime(e.Obj.Version))
}

func (e *ChangedError) Unwrap() error { return storage.ErrChanged }

// VersionTime shows a file's Version as a time.
func VersionTime(v string) string {
	var ns int64
	if _, err := fmt.Sscan(v, &ns); err != nil {
		return fmt.Sprintf("%q", v)
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// Check fails with a *ChangedError unless the open file f still has obj's
// size and version.
func Check(f *os.File, obj storage.Object) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", obj.Name, err)
	}
	if fi.Size() != obj.Size || Version(fi) != obj.Version {
		return &ChangedError{Obj: obj, Size: fi.Size(), ModTime: fi.ModTime()}
	}
	return nil
}

// OpenFile opens obj read only: a regular file (beneath the root, for
// Beneath), still of the size and version it was listed with (else a
// *ChangedError). A file that is gone fails with an error wrapping both
// storage.ErrChanged and fs.ErrNotExist. Reads of the file block, as a
// task expects.
func (fsys *FS) OpenFile(ctx context.Context, obj storage.Object) (*os.File, error) {
	name := obj.Name
	if fsys.root != "" {
		var err error
		if name, err = fsys.rel(name); err != nil {
			return nil, err
		}
	}
	f, err := fsys.open(name)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, newError(fmt.Sprintf("input %s is gone since the job listed it: rerun the job", obj.Name), storage.ErrChanged, err)
	}
	if err != nil {
		return nil, err
	}
	if err := regular(f); err != nil {
		f.Close()
		return nil, fsys.unreadable(name, err)
	}
	if err := Check(f, obj); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// regular accepts a regular file, and makes its reads blocking again.
func regular(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return ErrNotRegular
	}
	return unix.SetNonblock(int(f.Fd()), false)
}

// Open reads n bytes of obj from byte off on (n < 0: to its end), as
// OpenFile checks it. The file is checked again when the range has been
// read: a file that changed meanwhile fails the last Read with a
// *ChangedError instead of giving io.EOF.
func (fsys *FS) Open(ctx context.Context, obj storage.Object, off, n int64) (io.ReadCloser, error) {
	if off < 0 || off > obj.Size {
		return nil, fmt.Errorf("reading %s at offset %d: it has %d bytes", obj.Name, off, obj.Size)
	}
	f, err := fsys.OpenFile(ctx, obj)
	if err != nil {
		return nil, err
	}
	if n < 0 || off+n > obj.Size {
		n = obj.Size - off
	}
	return &rangeReader{f: f, obj: obj, r: io.NewSectionReader(f, off, n), left: n}, nil
}

// rangeReader reads a range of a file and checks the file at its end.
type rangeReader struct {
	f    *os.File
	obj  storage.Object
	r    *io.SectionReader
	left int64
	err  error // sticky, once the range ended
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		r.err = Check(r.f, r.obj)
		if r.err == nil && r.left > 0 {
			r.err = newError(fmt.Sprintf("input %s ended %d bytes short of its listed size: rerun the job on input that stays put", r.obj.Name, r.left),
				storage.ErrChanged, io.ErrUnexpectedEOF)
		}
		if r.err == nil {
			r.err = io.EOF
		}
		if n > 0 {
			return n, nil
		}
		return 0, r.err
	}
	return n, err
}

func (r *rangeReader) Close() error {
	if r.err == nil {
		r.err = iofs.ErrClosed
	}
	return r.f.Close()
}
