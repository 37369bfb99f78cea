package worker

import (
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Where a successful attempt's part goes besides out/ (LaunchRequest.
// Output), so that the client need not fetch it:
//
//	local  the client's staging directory, when this worker shares the
//	       client's host and can write there (a hard link of the part
//	       when the two share a file system, else a copy): the final
//	       event says Placed. Otherwise the client fetches the part as
//	       before; that is no failure.
//	s3     a multipart upload the worker streams the part into and
//	       leaves uncompleted (storage.PartStore.Create; the job commit
//	       completes or aborts it): the final event carries it as
//	       Upload. A failed upload fails the attempt.
//
// Either way the part is read from out/ as taskfs.go reads a task's files
// (no symlink followed) and its size and CRC-32C must be what the task's
// result reported; it stays in out/, where FetchOutput still serves it.

// checkTarget refuses, before the attempt takes a slot, an output target
// it cannot write to.
func (w *Worker) checkTarget(c *spec.Config, out *proto.OutputTarget) error {
	if c.Phase == spec.PhaseSample || c.Phase == spec.PhaseMap && c.Reduces > 0 {
		return proto.Errorf(proto.CodeBadRequest, "%s %s names an output: only reduces and the maps of map-only jobs write parts", c.Phase, c.Task)
	}
	switch storage.Kind(out.Kind) {
	case storage.Local:
		if !filepath.IsAbs(out.Name) {
			return proto.Errorf(proto.CodeBadRequest, "local output %q is not an absolute path", out.Name)
		}
	case storage.S3:
		if !strings.HasPrefix(out.Name, storage.S3Prefix) {
			return proto.Errorf(proto.CodeBadRequest, "s3 output %q does not start with %s", out.Name, storage.S3Prefix)
		}
	default:
		return proto.Errorf(proto.CodeBadRequest, "output %s is of unknown kind %q: use local or s3", out.Name, out.Kind)
	}
	return nil
}

// deliver sends the part of a successful attempt where out says and
// records it in ev. An error fails the attempt.
func (a *attempt) deliver(ev *proto.Event, out *proto.OutputTarget, res *spec.Result) *proto.Error {
	if len(res.Outputs) != 1 {
		return proto.Errorf(proto.CodeTaskFailed, "%s wrote %d output files: a task with an output target writes one part", a.key, len(res.Outputs))
	}
	part := res.Outputs[0]
	if storage.Kind(out.Kind) == storage.S3 {
		up, err := a.upload(out, part)
		if err != nil {
			return err
		}
		ev.Upload = up
		a.w.metrics.delivered.WithLabelValues("s3").Add(float64(part.Size))
		return nil
	}
	placed, err := a.place(out, part)
	ev.Placed = placed
	if placed {
		a.w.metrics.delivered.WithLabelValues("local").Add(float64(part.Size))
	}
	return err
}

// place stages the part in the client's staging directory out.Name,
// when this worker can, and reports whether it did: as a hard link of
// out/<part> where the two share a file system (no byte is written
// again), else as a copy (localfs.Staging.Link). Either way its bytes are
// read and must be what the task reported. Only a part that is not is an
// error; failing to stage it leaves the client to fetch it.
func (a *attempt) place(out *proto.OutputTarget, part spec.OutputFile) (bool, *proto.Error) {
	// With RunAs the worker would write with its own rights where the
	// client says, not the client's.
	if out.Host != storage.HostID() || a.w.sandbox.cred != nil {
		return false, nil
	}
	f, perr := a.openPart(part)
	if perr != nil {
		return false, perr
	}
	defer f.Close()
	stage := localfs.Staging{Stage: out.Name}
	p, err := stage.Link(a.ctx, part.Name, f)
	if err != nil {
		a.log.Info("part not placed: the client fetches it", "dir", out.Name, "err", err)
		return false, nil
	}
	if err := a.checkPart(part, p.Size, p.CRC32C); err != nil {
		_ = stage.Abort(a.ctx, p)
		return false, proto.ToError(err)
	}
	return true, nil
}

// upload writes the part to S3 as an uncompleted multipart upload.
func (a *attempt) upload(out *proto.OutputTarget, part spec.OutputFile) (*proto.Upload, *proto.Error) {
	store, err := a.w.objectStore()
	if err != nil {
		return nil, proto.ToError(err)
	}
	f, perr := a.openPart(part)
	if perr != nil {
		return nil, perr
	}
	defer f.Close()
	w, err := store.Create(a.ctx, out.Name)
	if err != nil {
		return nil, a.w.storeError(store, out.Name, false, err)
	}
	sum := newSum(f)
	_, err = io.Copy(writerOnly{w}, readerOnly{sum})
	var we *writeError
	var p storage.Pending
	switch {
	case errors.As(err, &we):
		err = a.w.storeError(store, out.Name, false, we.err)
	case err != nil:
		err = internalError("%s: read its part: %v", a.key, err)
	default:
		if p, err = w.Finish(); err != nil {
			err = a.w.storeError(store, out.Name, false, err)
		}
	}
	if err != nil {
		if aerr := w.Abort(); aerr != nil {
			a.log.Info("abort a failed upload: the job's cleanup aborts it", "url", out.Name, "err", aerr)
		}
		return nil, proto.ToError(err)
	}
	if err := a.checkPart(part, sum.n, sum.crc()); err != nil {
		_ = store.Abort(a.ctx, p)
		return nil, proto.ToError(err)
	}
	if p.Size != part.Size || p.CRC32C != part.CRC32C {
		_ = store.Abort(a.ctx, p)
		return nil, proto.Retryablef(proto.CodeChecksum, "%s: the store received %d bytes (CRC-32C %08x) of %s for %s, the task wrote %d (%08x)",
			a.key, p.Size, p.CRC32C, part.Name, out.Name, part.Size, part.CRC32C)
	}
	return proto.UploadOf(p), nil
}

// openPart opens out/<part> as the task left it, following no symlink.
func (a *attempt) openPart(part spec.OutputFile) (*os.File, *proto.Error) {
	f, err := a.files().open(path.Join(spec.OutDir, part.Name))
	var unsafe *taskFileError
	switch {
	case errors.As(err, &unsafe):
		return nil, proto.Errorf(proto.CodeTaskFailed, "%s reported success but %s", a.key, unsafe.left())
	case err != nil:
		return nil, internalError("%s: read its part: %v", a.key, err)
	}
	return f, nil
}

// checkPart fails unless n bytes with CRC-32C c are what the task
// reported of part.
func (a *attempt) checkPart(part spec.OutputFile, n int64, c uint32) error {
	if n != part.Size || c != part.CRC32C {
		return proto.Retryablef(proto.CodeChecksum, "%s: %s holds %d bytes (CRC-32C %08x), its result says %d (%08x)",
			a.key, part.Name, n, c, part.Size, part.CRC32C)
	}
	return nil
}

// summer counts and checksums what is read through it.
type summer struct {
	r io.Reader
	h hash.Hash32
	n int64
}

func newSum(r io.Reader) *summer { return &summer{r: r, h: crc32.New(castagnoli)} }

func (s *summer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

func (s *summer) crc() uint32 { return s.h.Sum32() }
