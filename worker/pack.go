package worker

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A packed input (InputSource.Pieces) is many small files in one map. The
// worker copies them one after another into in/split, whatever their
// kind, rather than pass each as a descriptor read in place: a split of a
// thousand files would need a thousand descriptors, past the task's
// usual limit of open files, while the copy is of small files (at most
// --split-size bytes in all, from the page cache for local ones). Each
// file is checked against its listed size and version when opened and
// again once copied (an S3 object by the store, as it is read), and the
// task reads the copy, so nothing it reads can change under it.

// stagePieces stages a packed input as in/split; the split checkLaunch
// made for it reads that file.
func (a *attempt) stagePieces(in *proto.InputSource) error {
	tmp, err := os.CreateTemp(a.w.jobDir(a.key.job), ".split-"+a.key.dirName()+"-*")
	if err != nil {
		return internalError("stage input: %v", err)
	}
	defer os.Remove(tmp.Name()) // once renamed, this removes nothing
	buf := make([]byte, 32<<10) // one for all the files: a pack may have a thousand
	for _, p := range in.Pieces {
		if a.ctx.Err() != nil {
			break
		}
		one := &proto.InputSource{Kind: in.Kind, Name: p.Name, Length: p.Size, Size: p.Size, Version: p.Version, Host: in.Host}
		if err = a.copyPiece(tmp, one, buf); err != nil {
			break
		}
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = internalError("stage input: %v", cerr)
	}
	if a.ctx.Err() != nil {
		return context.Cause(a.ctx)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(a.dir, spec.SplitFile)); err != nil {
		return internalError("stage input: %v", err)
	}
	return nil
}

// copyPiece appends one whole file of a packed input to dst.
// buf is the copy's buffer.
func (a *attempt) copyPiece(dst io.Writer, in *proto.InputSource, buf []byte) error {
	if storage.Kind(in.Kind) == storage.S3 {
		return a.copyObject(dst, in, buf)
	}
	src, err := a.openFile(in)
	if err != nil {
		return err
	}
	defer src.close()
	n, err := io.CopyBuffer(writerOnly{dst}, readerOnly{io.LimitReader(src.f, in.Size+1)}, buf)
	var we *writeError
	switch {
	case errors.As(err, &we):
		return internalError("stage input: %v", we.err)
	case err != nil:
		return internalError("read %s: %v", src.name, err)
	case n != in.Size:
		return proto.Errorf(proto.CodeInputChanged, "input %s changed while it was staged (%d bytes, listed with %d): rerun the job", src.name, n, in.Size)
	}
	if err := localfs.Check(src.f, src.obj); err != nil {
		return src.changed(err, "while it was staged")
	}
	return nil
}

// copyObject appends one whole S3 object of a packed input to dst; the
// store refuses an object whose version is not the one listed.
func (a *attempt) copyObject(dst io.Writer, in *proto.InputSource, buf []byte) error {
	store, err := a.w.objectStore()
	if err != nil {
		return err
	}
	obj := storage.Object{Name: in.Name, Kind: storage.S3, Size: in.Size, Version: in.Version}
	rc, err := store.Open(a.ctx, obj, 0, in.Size)
	if err != nil {
		return a.w.storeError(store, in.Name, true, err)
	}
	// A kill stops the copy even where the store ignores ctx mid-body.
	closeBody := sync.OnceValue(rc.Close)
	stop := context.AfterFunc(a.ctx, func() { closeBody() })
	defer stop()
	defer closeBody()
	n, err := io.CopyBuffer(writerOnly{dst}, readerOnly{rc}, buf)
	var we *writeError
	switch {
	case errors.As(err, &we):
		return internalError("stage input: %v", we.err)
	case err != nil:
		return a.w.storeError(store, in.Name, true, err)
	case n != in.Size:
		return proto.Errorf(proto.CodeInputChanged, "input %s changed since the job started (%d bytes, listed with %d): rerun the job", in.Name, n, in.Size)
	}
	return nil
}
