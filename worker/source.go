package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A map's input where it lives (LaunchRequest.Input), instead of a split
// the client sent (PutInput):
//
//	local   a file on the client's host, which this worker shares: opened
//	        and passed to the task as descriptor inputFD, read in place
//	worker  a file under this worker's --data-dir: the same
//	s3      a byte range of an object: staged as in/split, read with the
//	        worker's own S3 client
//
// A file is checked against the size and modification time the job
// listed it with when it is opened, and again once the task has exited:
// an input that changed is never mapped into an answer. An S3 object is
// checked by the store (its ETag) as it is read.

// inputFD is the descriptor a task reads its input in place from: the
// first of exec.Cmd.ExtraFiles.
const inputFD = 3

// checkSource refuses, before the attempt takes a slot, an input it
// cannot read here. A local input on another host is not_here: the
// client then sends the split instead.
func (w *Worker) checkSource(c *spec.Config, in *proto.InputSource) error {
	switch {
	case !c.Phase.ReadsSplit():
		return proto.Errorf(proto.CodeBadRequest, "a %s task names an input to read: only maps and samples read one", c.Phase)
	case len(in.Pieces) > 0 || len(c.Split.Pieces) > 0:
		return w.checkPieces(c, in)
	case in.Offset < 0 || in.Length < 0 || in.Size < 0 || in.Length > in.Size || in.Offset > in.Size-in.Length:
		return proto.Errorf(proto.CodeBadRequest, "input %s: split [%d, +%d) does not lie within its %d bytes", in.Name, in.Offset, in.Length, in.Size)
	}
	return w.checkObject(in)
}

// checkPieces checks a packed input: whole files of one kind, the ones
// the task's split lists, each where the worker may read it.
func (w *Worker) checkPieces(c *spec.Config, in *proto.InputSource) error {
	switch {
	case len(in.Pieces) != len(c.Split.Pieces):
		return proto.Errorf(proto.CodeBadRequest, "packed input of %d files for a split of %d", len(in.Pieces), len(c.Split.Pieces))
	case in.Name != "" || in.Offset != 0 || in.Length != 0 || in.Size != 0 || in.Version != "" || in.Lines:
		return proto.Errorf(proto.CodeBadRequest, "packed input also names a file %q or a range", in.Name)
	}
	for i, p := range in.Pieces {
		if p.Size < 0 || p.Size != c.Split.Pieces[i].Length {
			return proto.Errorf(proto.CodeBadRequest, "packed input %s is %d bytes, its piece of the split %d", p.Name, p.Size, c.Split.Pieces[i].Length)
		}
		one := proto.InputSource{Kind: in.Kind, Name: p.Name, Length: p.Size, Size: p.Size, Host: in.Host}
		if err := w.checkObject(&one); err != nil {
			return err
		}
	}
	return nil
}

// checkObject checks that the worker may read in where it lives.
func (w *Worker) checkObject(in *proto.InputSource) error {
	switch storage.Kind(in.Kind) {
	case storage.Local:
		switch {
		case !filepath.IsAbs(in.Name):
			return proto.Errorf(proto.CodeBadRequest, "local input %q is not an absolute path", in.Name)
		case in.Host != storage.HostID():
			return proto.Errorf(proto.CodeNotHere, "worker %s is on another host than the client: it cannot read %s in place", w.ID(), in.Name)
		case w.sandbox.cred != nil:
			// It would open the file with its own rights, not the client's.
			return proto.Errorf(proto.CodeNotHere, "worker %s runs tasks as %s: it does not open the client's files for them", w.ID(), w.sandbox.runAs)
		}
	case storage.Worker:
		if w.data == nil {
			return w.noDataDir()
		}
		return checkDataPath(in.Name)
	case storage.S3:
		if !strings.HasPrefix(in.Name, storage.S3Prefix) {
			return proto.Errorf(proto.CodeBadRequest, "s3 input %q does not start with %s", in.Name, storage.S3Prefix)
		}
	default:
		return proto.Errorf(proto.CodeBadRequest, "input %s is of unknown kind %q: use local, worker or s3", in.Name, in.Kind)
	}
	return nil
}

// source is a map attempt's input as the worker opened it.
type source struct {
	in   *proto.InputSource
	obj  storage.Object // as listed, in its store's terms
	name string         // as messages name it
	f    *os.File       // the file the task reads in place; nil when staged
}

// openSource opens the attempt's input, or for S3 stages its range, and
// returns it with the split the task reads. The split keeps the Name the
// client gave (task.Context.InputFile).
func (a *attempt) openSource(in *proto.InputSource, split spec.Split) (*source, spec.Split, error) {
	if len(in.Pieces) > 0 {
		return &source{in: in, name: sourceName(in)}, split, a.stagePieces(in)
	}
	split.Offset, split.Length = in.Offset, in.Length
	if storage.Kind(in.Kind) == storage.S3 {
		src := &source{in: in, name: in.Name}
		split, err := a.stageObject(in, split)
		return src, split, err
	}
	src, err := a.openFile(in)
	if err != nil {
		return nil, split, err
	}
	if in.Lines {
		start, end, err := storage.Cut(src.f, in.Size, in.Offset, in.Length)
		if err != nil {
			src.close()
			return nil, split, internalError("read %s: %v", src.name, err)
		}
		split.Offset, split.Length = start, end-start
	}
	split.File, split.FD = "", inputFD
	return src, split, nil
}

// openFile opens a local or worker: file, checked against the size and
// version the job listed it with.
func (a *attempt) openFile(in *proto.InputSource) (*source, error) {
	src := &source{in: in, name: in.Name,
		obj: storage.Object{Name: in.Name, Kind: storage.Kind(in.Kind), Size: in.Size, Version: in.Version}}
	var err error
	var changed *localfs.ChangedError
	switch storage.Kind(in.Kind) {
	case storage.Local:
		src.f, err = a.w.local.OpenFile(a.ctx, src.obj)
		if err != nil && !errors.As(err, &changed) {
			return nil, proto.Errorf(proto.CodeNotHere, "worker %s cannot open %s in place: %v", a.w.ID(), in.Name, err)
		}
	case storage.Worker:
		src.name = storage.WorkerPrefix + in.Name + " on worker " + a.w.ID()
		src.obj.Name = storage.WorkerPrefix + in.Name
		src.f, err = a.w.data.OpenFile(a.ctx, src.obj)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, proto.Errorf(proto.CodeInputChanged, "input %s is gone since the job started: rerun the job", src.name)
		case err != nil && !errors.As(err, &changed):
			return nil, a.w.unreadable(in.Name, err)
		}
	}
	if err != nil {
		return nil, src.changed(err, "since the job started")
	}
	return src, nil
}

// changed words a file's *localfs.ChangedError (any other error is the
// worker's): the input changed when, and the job fails.
func (s *source) changed(err error, when string) error {
	var c *localfs.ChangedError
	if !errors.As(err, &c) {
		return internalError("stat %s: %v", s.name, err)
	}
	if c.Size != s.in.Size {
		return proto.Errorf(proto.CodeInputChanged, "input %s changed %s (size %d → %d): rerun the job",
			s.name, when, s.in.Size, c.Size)
	}
	return proto.Errorf(proto.CodeInputChanged, "input %s changed %s (modified %s, listed as of %s): rerun the job",
		s.name, when, c.ModTime.UTC().Format(time.RFC3339Nano), localfs.VersionTime(s.in.Version))
}

// close closes the file read in place, if any.
func (s *source) close() {
	if s != nil && s.f != nil {
		s.f.Close()
	}
}

// stageObject copies the attempt's range of an S3 object into in/split
// (through the job directory, as PutInput does) and returns the split.
// With Lines the range is the lines that start inside it
// (storage.OwnedLines); the split then says where they begin.
func (a *attempt) stageObject(in *proto.InputSource, split spec.Split) (spec.Split, error) {
	store, err := a.w.objectStore()
	if err != nil {
		return split, err
	}
	obj := storage.Object{Name: in.Name, Kind: storage.S3, Size: in.Size, Version: in.Version}
	off, n := in.Offset, in.Length
	if in.Lines {
		off, n = max(in.Offset-1, 0), -1
	}
	rc, err := store.Open(a.ctx, obj, off, n)
	if err != nil {
		return split, a.w.storeError(store, in.Name, true, err)
	}
	// A kill stops the copy even where the store ignores ctx mid-body.
	closeBody := sync.OnceValue(rc.Close)
	stop := context.AfterFunc(a.ctx, func() { closeBody() })
	defer stop()
	defer closeBody()

	var r io.Reader = rc
	var lines *storage.LineRange
	if in.Lines {
		lines = storage.OwnedLines(rc, in.Offset, in.Length)
		r = lines
	}
	tmp, err := os.CreateTemp(a.w.jobDir(a.key.job), ".split-"+a.key.dirName()+"-*")
	if err != nil {
		return split, internalError("stage input: %v", err)
	}
	defer os.Remove(tmp.Name()) // once renamed, this removes nothing
	written, err := io.Copy(writerOnly{tmp}, readerOnly{r})
	if cerr := tmp.Close(); err == nil && cerr != nil {
		return split, internalError("stage input: %v", cerr)
	}
	var we *writeError
	switch {
	case a.ctx.Err() != nil:
		return split, context.Cause(a.ctx)
	case errors.As(err, &we):
		return split, internalError("stage input: %v", we.err)
	case err != nil:
		return split, a.w.storeError(store, in.Name, true, err)
	case !in.Lines && written != in.Length:
		return split, proto.Errorf(proto.CodeInputChanged, "input %s changed since the job started (its range [%d, +%d) gave %d bytes): rerun the job",
			in.Name, in.Offset, in.Length, written)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(a.dir, spec.SplitFile)); err != nil {
		return split, internalError("stage input: %v", err)
	}
	split.File, split.FD, split.Length = spec.SplitFile, 0, written
	if in.Lines {
		split.Offset = lines.Start()
	}
	return split, nil
}

// writeError marks a failed write in a copy, to tell it from a failed read.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// writerOnly hides ReadFrom so that io.Copy calls Write, and marks its
// errors as writeErrors.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// readerOnly hides WriteTo, so that io.Copy goes through writerOnly.
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// recheck fails with input_changed if the file read in place changed
// while the task read it.
func (s *source) recheck() error {
	if s == nil || s.f == nil {
		return nil
	}
	if err := localfs.Check(s.f, s.obj); err != nil {
		return s.changed(err, "while the task read it")
	}
	return nil
}

// sourceName names an input in a log line.
func sourceName(in *proto.InputSource) string {
	if len(in.Pieces) > 0 {
		return fmt.Sprintf("%s:%s and %d more", in.Kind, in.Pieces[0].Name, len(in.Pieces)-1)
	}
	return fmt.Sprintf("%s:%s", in.Kind, in.Name)
}
