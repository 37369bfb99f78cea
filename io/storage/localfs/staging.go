package localfs

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/distmr/dist/internal/fsx"
	"github.com/distmr/dist/io/storage"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Staging is the PartStore of a directory output on this machine: a part
// named NAME is written as Stage/NAME, where no reader looks, and Commit
// publishes it as Root/NAME with one rename, so Stage must be on Root's
// file system. A worker that only writes parts leaves Root empty.
type Staging struct {
	Root  string // where Commit publishes parts
	Stage string // where Create and Link write them; created when needed
}

var _ storage.PartStore = Staging{}

// Create starts part name (a file name, no directory) as a temporary
// file in Stage; Finish syncs it and renames it Stage/NAME.
func (s Staging) Create(ctx context.Context, name string) (storage.Part, error) {
	if err := checkPartName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Stage, 0o755); err != nil {
		return nil, err
	}
	f, err := createTemp(s.Stage, "."+name+".tmp-")
	if err != nil {
		return nil, err
	}
	return &filePart{f: f, to: filepath.Join(s.Stage, name), name: name, h: crc32.New(castagnoli)}, nil
}

// Commit moves a finished part from Stage to Root and syncs Root.
func (s Staging) Commit(ctx context.Context, p storage.Pending) error {
	if err := s.Move(ctx, p); err != nil {
		return err
	}
	return fsx.SyncDir(s.Root)
}

// Move is Commit without the sync of Root, for a caller that moves many
// parts into one Root and syncs it once after the last: a job commit
// with a part per reduce would otherwise sync the same directory once a
// part.
func (s Staging) Move(ctx context.Context, p storage.Pending) error {
	if err := checkPartName(p.Name); err != nil {
		return err
	}
	if s.Root == "" {
		return fmt.Errorf("commit %s: the staging of %s has no Root to publish to", p.Name, s.Stage)
	}
	return os.Rename(filepath.Join(s.Stage, p.Name), filepath.Join(s.Root, p.Name))
}

// Abort removes a finished part from Stage. One already gone is not an
// error.
func (s Staging) Abort(ctx context.Context, p storage.Pending) error {
	if err := checkPartName(p.Name); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.Stage, p.Name)); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	return nil
}

// Link stages the regular file f, open to read, as part name without
// copying it where it can: a hard link of the very file f is open on
// (not whatever its path names now), so f must be on Stage's file
// system and not change any more. Its bytes are read once, to count them
// and their CRC-32C for the Pending, and it is synced. Where it cannot
// link (another file system, a system without /proc), it copies.
func (s Staging) Link(ctx context.Context, name string, f *os.File) (storage.Pending, error) {
	if err := checkPartName(name); err != nil {
		return storage.Pending{}, err
	}
	if err := regular(f); err != nil {
		return storage.Pending{}, fmt.Errorf("stage %s from %s: %w", name, f.Name(), err)
	}
	if err := os.MkdirAll(s.Stage, 0o755); err != nil {
		return storage.Pending{}, err
	}
	tmp := filepath.Join(s.Stage, "."+name+".link")
	_ = os.Remove(tmp) // left by a link that failed before its rename
	if err := fsx.LinkOpened(f, tmp); err != nil {
		return s.copy(ctx, name, f)
	}
	p, err := s.linked(f, tmp, name)
	if err != nil {
		os.Remove(tmp)
		return storage.Pending{}, err
	}
	return p, nil
}

// linked finishes Link once f is linked as tmp.
func (s Staging) linked(f *os.File, tmp, name string) (storage.Pending, error) {
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return storage.Pending{}, fmt.Errorf("stage %s: read %s: %w", name, f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return storage.Pending{}, fmt.Errorf("stage %s: sync %s: %w", name, f.Name(), err)
	}
	if err := os.Rename(tmp, filepath.Join(s.Stage, name)); err != nil {
		return storage.Pending{}, err
	}
	if err := fsx.SyncDir(s.Stage); err != nil {
		return storage.Pending{}, err
	}
	return storage.Pending{Name: name, Size: n, CRC32C: h.Sum32()}, nil
}

// copy is Link by writing a copy.
func (s Staging) copy(ctx context.Context, name string, f *os.File) (storage.Pending, error) {
	part, err := s.Create(ctx, name)
	if err != nil {
		return storage.Pending{}, err
	}
	if _, err := io.Copy(part, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		part.Abort()
		return storage.Pending{}, fmt.Errorf("stage %s: copy %s: %w", name, f.Name(), err)
	}
	return part.Finish()
}

// createTemp creates a new file dir/prefix<random> as os.Create would,
// 0666 less the umask (os.CreateTemp's files are 0600: a part would
// not be readable as the files beside it are).
func createTemp(dir, prefix string) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, iofs.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}

// checkPartName refuses a part name that is not one file name.
func checkPartName(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("part name %q is not a file name", name)
	}
	return nil
}

// filePart is a part being written to a temporary file.
type filePart struct {
	f    *os.File
	to   string // Stage/NAME
	name string
	h    hash.Hash32
	n    int64
	done bool
}

func (p *filePart) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	return n, err
}

// Finish makes the part durable as Stage/NAME: fsync, close, rename,
// fsync the directory. On failure the temporary file is removed.
func (p *filePart) Finish() (storage.Pending, error) {
	if p.done {
		return storage.Pending{}, fmt.Errorf("part %s finished twice", p.name)
	}
	p.done = true
	err := p.f.Sync()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.f.Name(), p.to)
	}
	if err != nil {
		os.Remove(p.f.Name())
		return storage.Pending{}, err
	}
	if err := fsx.SyncDir(filepath.Dir(p.to)); err != nil {
		return storage.Pending{}, err
	}
	return storage.Pending{Name: p.name, Size: p.n, CRC32C: p.h.Sum32()}, nil
}

func (p *filePart) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	p.f.Close()
	if err := os.Remove(p.f.Name()); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	return nil
}
