package worker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// maxSideFiles bounds the side files of one launch.
const maxSideFiles = 1024

// checkSideFiles refuses a launch whose side files (LaunchRequest.Files)
// are malformed or not in the cache; it runs before the attempt takes a
// slot, so a missing one is the not_found that makes the client ship
// again.
func (w *Worker) checkSideFiles(refs []proto.ArtifactRef) error {
	if len(refs) > maxSideFiles {
		return proto.Errorf(proto.CodeBadRequest, "the launch names %d side files: the limit is %d", len(refs), maxSideFiles)
	}
	seen := map[string]bool{}
	for _, ref := range refs {
		if ref.Kind != proto.KindFile {
			return proto.Errorf(proto.CodeBadRequest, "side file %q is of kind %q: side files have kind %s", refName(ref), ref.Kind, proto.KindFile)
		}
		if err := checkSHA(ref.SHA256); err != nil {
			return err
		}
		if err := checkName("side file name", ref.Name); err != nil {
			return err
		}
		if seen[ref.Name] {
			return proto.Errorf(proto.CodeBadRequest, "the launch names two side files called %s", ref.Name)
		}
		seen[ref.Name] = true
		if !w.cache.has(ref.SHA256) {
			return artifactMissing(ref)
		}
	}
	return nil
}

// placeSideFiles copies the side files from the cache into the attempt's
// spec.FilesDir, mode 0444. A copy, not a hard link: sandbox.prepare
// gives the attempt directory to the --run-as user, and would give a
// linked cache entry with it; without --run-as the task is the worker's
// own user and could chmod and rewrite a linked entry. The directory is
// still the worker's here (see taskfs.go), and the names were checked by
// checkSideFiles, so no path here is the task's.
func (a *attempt) placeSideFiles(refs []proto.ArtifactRef) error {
	if len(refs) == 0 {
		return nil
	}
	dir := filepath.Join(a.dir, spec.FilesDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return internalError("side files: %v", err)
	}
	for _, ref := range refs {
		err := copyOut(a.w.cache.path(ref.SHA256), filepath.Join(dir, ref.Name))
		if errors.Is(err, fs.ErrNotExist) {
			return artifactMissing(ref) // evicted since the launch was checked
		}
		if err != nil {
			return internalError("side file %s: %v", ref.Name, err)
		}
	}
	return nil
}

// copyOut copies the cache entry src to a new read-only file dst.
func copyOut(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o444)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy: %w", err)
	}
	return out.Close()
}
