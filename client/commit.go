package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/distmr/dist/task"
	"github.com/distmr/dist/tracker"
)

// SuccessFile marks a finished job's output directory; it is written last.
const SuccessFile = "_SUCCESS"

const tempDirName = "_temporary"

// checkOutput checks that dir may receive this job's output: a finished
// job's output is only replaced with overwrite.
func checkOutput(dir string, overwrite bool) error {
	if overwrite {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, SuccessFile)); err == nil {
		return fmt.Errorf("%w: %s already holds %s: choose another --output or pass --overwrite",
			ErrOutputTaken, dir, SuccessFile)
	}
	parts, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil {
		return err
	}
	if len(parts) > 0 {
		return fmt.Errorf("%w: %s already holds %s: choose another --output or pass --overwrite",
			ErrOutputTaken, dir, filepath.Base(parts[0]))
	}
	return nil
}

// makeTemp creates an empty dir/_temporary.
func makeTemp(dir string) (string, error) {
	tmp := filepath.Join(dir, tempDirName)
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	return tmp, nil
}

// commitOutput moves each committed attempt's output into place and writes
// _SUCCESS last. outputs holds the committed attempts of the tasks whose
// output is the job output (reduces, or maps of a map-only job).
func commitOutput(dir string, outputs []tracker.Committed) error {
	if err := removeOld(dir); err != nil {
		return err
	}
	tmp := filepath.Join(dir, tempDirName)
	for _, c := range outputs {
		name := task.PartName(c.Task.Index)
		from := filepath.Join(tmp, fmt.Sprintf("%s-%d", c.Task.ID(), c.Attempt), name)
		if err := os.Rename(from, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("commit %s: %w", name, err)
		}
	}
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, SuccessFile))
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(dir)
}

// removeOld deletes a previous job's part files and _SUCCESS (only reached
// with --overwrite).
func removeOld(dir string) error {
	_ = os.Remove(filepath.Join(dir, SuccessFile))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "part-") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// abortOutput removes everything a failed job wrote.
func abortOutput(dir string) {
	_ = os.RemoveAll(filepath.Join(dir, tempDirName))
	_ = os.Remove(dir) // only if empty: it may be ours
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
