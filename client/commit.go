package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/distmr/dist/internal/fsx"
	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// SuccessFile is the manifest of a finished job's output directory,
// written last (see Manifest).
const SuccessFile = "_SUCCESS"

// attemptsDir holds, inside the staging directory, one directory per
// fetched attempt: <task>-<attempt>/part-NNNNN.
const attemptsDir = "_temporary"

// Manifest is the JSON in a finished output's _SUCCESS: the job that
// wrote it and every part file, sorted by name. A part it does not list
// is not output.
type Manifest struct {
	Job   string         `json:"job"`
	Parts []ManifestPart `json:"parts"`
}

// ManifestPart describes one part file.
type ManifestPart struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"` // CRC-32C (Castagnoli) of the file's bytes
}

// staging is where one job's output is written before it is published:
// PARENT/.NAME.dist-<job>/ (output.go), on DIR's file system so that one
// rename publishes it. The job holds the output's lock while it exists.
type staging struct {
	out  outPaths
	job  string
	path string

	mu      sync.Mutex
	fetched map[string]ManifestPart // by attempt directory name

	// step, when set (by tests), is called between the commit's steps; an
	// error from it stops the commit there, as if the process died.
	step func(name string) error
}

// newStaging checks DIR again now that the job holds the lock (a job that
// ended since Prepare may have filled it), removes what dead jobs left
// beside it, and creates the job's staging directory.
func newStaging(o outPaths, job string, overwrite bool) (*staging, error) {
	if err := checkOutput(o, overwrite); err != nil {
		return nil, err
	}
	if err := removeStale(o); err != nil {
		return nil, err
	}
	s := &staging{out: o, job: job, path: o.staging(job), fetched: map[string]ManifestPart{}}
	if err := os.MkdirAll(filepath.Join(s.path, attemptsDir), 0o755); err != nil {
		return nil, fmt.Errorf("create staging directory for --output %s: %w", o.dir, err)
	}
	return s, nil
}

// removeStale removes the staging directories (and replaced old outputs)
// of jobs that died holding this output. Only the lock holder calls it,
// so none of them belongs to a live job.
func removeStale(o outPaths) error {
	ents, err := os.ReadDir(o.parent)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if o.stale(e.Name()) {
			if err := removeDistFiles(filepath.Join(o.parent, e.Name())); err != nil {
				return fmt.Errorf("remove what a dead job left beside --output %s: %w", o.dir, err)
			}
		}
	}
	return nil
}

// attemptDir is the directory an attempt's part file is fetched into.
func (s *staging) attemptDir(taskID string, attempt int) string {
	return filepath.Join(s.path, attemptsDir, attemptName(taskID, attempt))
}

// parts is where an attempt's part is written (its attemptDir) and from
// where the commit publishes it (the staging root).
func (s *staging) parts(taskID string, attempt int) localfs.Staging {
	return localfs.Staging{Root: s.path, Stage: s.attemptDir(taskID, attempt)}
}

func attemptName(taskID string, attempt int) string { return fmt.Sprintf("%s-%d", taskID, attempt) }

// fetchedPart records the size and CRC-32C of a part file as it was written.
func (s *staging) fetchedPart(taskID string, attempt int, p ManifestPart) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetched[attemptName(taskID, attempt)] = p
}

// placed records a part the worker wrote into the attempt's directory
// itself (it shares the client's host), after checking it is there at the
// size its task reported; the worker checked its CRC as it wrote it.
func (s *staging) placed(taskID string, attempt int, name string, res *spec.Result) error {
	for _, out := range res.Outputs {
		if out.Name != name {
			continue
		}
		st, err := os.Lstat(filepath.Join(s.attemptDir(taskID, attempt), name))
		if err != nil {
			return fmt.Errorf("%s attempt %d: the worker said it wrote %s: %w", taskID, attempt, name, err)
		}
		if !st.Mode().IsRegular() || st.Size() != out.Size {
			return fmt.Errorf("%s attempt %d: %w: %s is %d bytes, its task reported %d", taskID, attempt, errChecksum, name, st.Size(), out.Size)
		}
		s.fetchedPart(taskID, attempt, ManifestPart{Name: name, Size: out.Size, CRC32C: out.CRC32C})
		return nil
	}
	return fmt.Errorf("%s attempt %d reported no %s", taskID, attempt, name)
}

// commit publishes the job's output: the part of each committed attempt
// (outputs: the reduces, or the maps of a map-only job) moves to the
// staging root, _SUCCESS is written last, everything is synced, and one
// rename puts the staging directory in DIR's place. Until that rename DIR
// is as it was, and an error leaves it so; after it, DIR is complete and
// commit returns nil. The tracker has ended every attempt when commit is
// called, so no fetch still writes.
func (s *staging) commit(outputs []tracker.Committed) error {
	m := Manifest{Job: s.job, Parts: []ManifestPart{}}
	for _, c := range outputs {
		p, err := s.take(c)
		if err != nil {
			return err
		}
		m.Parts = append(m.Parts, p)
		if err := s.at("part"); err != nil {
			return err
		}
	}
	sort.Slice(m.Parts, func(i, k int) bool { return m.Parts[i].Name < m.Parts[k].Name })
	steps := []struct {
		name string
		do   func() error
	}{
		{"parts", func() error { return os.RemoveAll(filepath.Join(s.path, attemptsDir)) }},
		{"manifest", func() error { return writeManifest(filepath.Join(s.path, SuccessFile), m) }},
		{"sync", func() error { return fsx.SyncDir(s.path) }},
		{"publish", func() error { return publish(s.path, s.out.dir) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			return fmt.Errorf("commit output %s: %s: %w", s.out.dir, st.name, err)
		}
		if err := s.at(st.name); err != nil {
			return err
		}
	}
	// Published, the job has succeeded: nothing can undo that now. A sync
	// of the parent that fails leaves the rename less durable, not undone;
	// the old contents of DIR, if any, are at s.path, and what cannot be
	// removed now the next job on this output removes (removeStale).
	_ = fsx.SyncDir(s.out.parent)
	_ = removeDistFiles(s.path)
	return nil
}

// removeDistFiles removes a staging directory, or the old contents of an
// output directory, if it holds only what dist writes (distName). A file
// someone put into DIR while the job ran (after checkOutput) is kept, and
// the directory holding it too: dist never deletes a user's file.
func removeDistFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !distName(e.Name()) {
			return nil
		}
	}
	return os.RemoveAll(dir)
}

// at calls the test hook step, if any, after the step named.
func (s *staging) at(name string) error {
	if s.step == nil {
		return nil
	}
	return s.step(name)
}

// take moves committed attempt c's part file to the staging root and
// describes it for the manifest.
func (s *staging) take(c tracker.Committed) (ManifestPart, error) {
	name := spec.PartName(c.Task.Index)
	s.mu.Lock()
	p, ok := s.fetched[attemptName(c.Task.ID(), c.Attempt)]
	s.mu.Unlock()
	if !ok || p.Name != name {
		return p, fmt.Errorf("commit %s: %s attempt %d was never fetched", name, c.Task.ID(), c.Attempt)
	}
	pending := storage.Pending{Name: name, Size: p.Size, CRC32C: p.CRC32C}
	// Moved unsynced: commit syncs the staging root once, after the last
	// part and _SUCCESS, before it publishes.
	if err := s.parts(c.Task.ID(), c.Attempt).Move(context.Background(), pending); err != nil {
		return p, fmt.Errorf("commit %s: %w", name, err)
	}
	return p, nil
}

// abort removes the job's staging directory; DIR is not touched.
func (s *staging) abort() { _ = os.RemoveAll(s.path) }

func writeManifest(path string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeSynced(path, append(b, '\n'))
}

// writeSynced writes a new file and syncs it to disk.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadManifest reads the _SUCCESS manifest of a finished output directory.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, SuccessFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SuccessFile), err)
	}
	return &m, nil
}

// publish puts the directory staged in DIR's place at one rename: a plain
// rename when DIR is missing, else an exchange (exchange_*.go) that leaves
// DIR's old contents at staged. A DIR that is an empty directory would
// take a plain rename too; the exchange covers it and a full one alike.
func publish(staged, dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.Rename(staged, dir); err == nil || !exists(dir) {
			return err
		}
		st, err = os.Lstat(dir) // someone made DIR since: exchange with it
	}
	if err != nil {
		return err
	}
	// DIR keeps its permissions (someone may have made it for the job).
	if err := os.Chmod(staged, st.Mode().Perm()); err != nil {
		return err
	}
	return exchange(staged, dir)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// swapByRenames is exchange in two renames, for systems that cannot swap
// two directories at once: DIR's old contents move to staged+".old",
// then the staged directory takes DIR's place.
func swapByRenames(staged, dir string) error {
	if err := os.Rename(dir, staged+".old"); err != nil {
		return err
	}
	if err := os.Rename(staged, dir); err != nil {
		_ = os.Rename(staged+".old", dir) // put the old output back
		return err
	}
	return os.Rename(staged+".old", staged)
}
