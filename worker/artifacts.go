package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/yamux"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
)

// cache holds artifacts by content: <dir>/<sha256>, mode 0755. An entry
// appears only by rename after its bytes hashed to its name. Uploads are
// not synced to disk (an fsync costs a cold upload more than the copy
// itself), so after a machine crash an entry's bytes may be incomplete:
// an entry this process did not write is hashed again the first time it
// is asked for, and removed if it does not match (verify.go).
type cache struct {
	dir   string
	max   int64 // largest artifact accepted
	limit int64 // total bytes kept; 0 means no bound (see evict)
	log   *slog.Logger

	evictMu sync.Mutex

	verifyMu sync.Mutex
	verified map[string]bool // entries known good in this process
}

// tmpPrefix starts the names of uploads in progress.
const tmpPrefix = ".upload-"

func (c *cache) path(sha string) string { return filepath.Join(c.dir, sha) }

// has reports whether the cache holds a good copy of sha, and marks it as
// just used.
func (c *cache) has(sha string) bool {
	fi, err := os.Stat(c.path(sha))
	if err != nil || !fi.Mode().IsRegular() || !c.verify(sha) {
		return false
	}
	c.touch(sha)
	return true
}

// clean removes uploads a previous run left half done.
func (c *cache) clean() error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(c.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// put streams size bytes from r into the cache under sha, hashing as it
// goes. Each upload has its own temporary file, so concurrent uploads of
// one artifact are safe: a verified upload is renamed into place unless an
// identical one already is.
func (c *cache) put(r io.Reader, sha string, size int64) (err error) {
	f, err := os.CreateTemp(c.dir, tmpPrefix+sha[:16]+"-*")
	if err != nil {
		return internalError("artifact cache: %v", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	if err := proto.ReadBody(io.MultiWriter(f, h), r, size, c.max); err != nil {
		if errors.Is(err, proto.ErrBodyTooLarge) {
			return tooLargeArtifact(size, c.max)
		}
		return proto.Errorf(proto.CodeBadRequest, "artifact upload of %d bytes broke off: %v", size, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		return proto.Errorf(proto.CodeChecksum,
			"artifact checksum mismatch: announced sha256 %s, received bytes hash to %s: upload it again", sha, got)
	}
	if c.has(sha) {
		// A concurrent upload won; keep its file rather than replace a
		// file a task may be starting from.
		f.Close()
		os.Remove(f.Name())
		return nil
	}
	if err := f.Chmod(0o755); err != nil {
		return internalError("artifact cache: %v", err)
	}
	if err := f.Close(); err != nil {
		return internalError("artifact cache: %v", err)
	}
	if err := os.Rename(f.Name(), c.path(sha)); err != nil {
		return internalError("artifact cache: %v", err)
	}
	c.markVerified(sha)
	return nil
}

func tooLargeArtifact(size, limit int64) *proto.Error {
	return proto.Errorf(proto.CodeTooLarge,
		"artifact is %d bytes, this worker accepts at most %d: shrink it (go build -ldflags=-s -w) or raise the worker's --max-artifact", size, limit)
}

func checkSHA(sha string) error {
	if !artifact.ValidSHA(sha) {
		return proto.Errorf(proto.CodeBadRequest, "artifact sha256 %q is not 64 lowercase hex digits", sha)
	}
	return nil
}

func (w *Worker) handleHasArtifact(st *yamux.Stream) error {
	var req proto.ArtifactRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return err
	}
	if err := checkSHA(req.SHA256); err != nil {
		return err
	}
	present := w.cache.has(req.SHA256)
	w.metrics.cacheLookup(present)
	return proto.WriteFrame(st, &proto.HasArtifactReply{Present: present})
}

// handlePutArtifact stores an uploaded artifact. bodyUnread reports a
// refusal before the body was read.
func (w *Worker) handlePutArtifact(st *yamux.Stream, h proto.Header) (bodyUnread bool, err error) {
	var req proto.PutArtifactRequest
	if err := proto.ReadRequest(st, &req); err != nil {
		return true, err
	}
	if err := checkSHA(req.SHA256); err != nil {
		return true, err
	}
	if req.Size < 0 {
		return true, proto.Errorf(proto.CodeBadRequest, "artifact size %d is negative", req.Size)
	}
	if req.Size > w.cache.max {
		return true, tooLargeArtifact(req.Size, w.cache.max)
	}
	if err := w.admitting(); err != nil {
		return true, err
	}
	if err := w.cache.put(w.idle(st), req.SHA256, req.Size); err != nil {
		return false, err
	}
	w.log.Info("artifact cached", "job", h.Job, "sha256", req.SHA256, "size", req.Size)
	w.cache.evict(req.SHA256)
	if w.cfg.JobHost != nil {
		w.cfg.JobHost.Cached(req.SHA256)
	}
	return false, proto.WriteFrame(st, &proto.Reply{})
}

// artifactMissing is the Launch reply when the cache lacks the artifact.
func artifactMissing(ref proto.ArtifactRef) *proto.Error {
	name := ref.Name
	if name == "" {
		name = "artifact"
	}
	return notFound("%s (sha256 %s) is not in this worker's cache: PutArtifact it first", name, ref.SHA256)
}
