package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// An output directory DIR is published whole, so the files that go with
// it live beside it, in its parent, where one rename can reach DIR:
//
//	PARENT/.NAME.dist-lock     the lock a running job holds (lock.go)
//	PARENT/.NAME.dist-<job>/   the job's staging directory; after a
//	                           commit that replaced an old DIR, the old
//	                           contents, until they are removed
//	PARENT/.NAME.dist-<job>.old  the old contents on systems without an
//	                           atomic exchange (exchange_other.go)
//
// The dot hides them from `ls` and from globs such as NAME/* or part-*.

// outPaths names an output directory and the files beside it.
type outPaths struct {
	dir    string // the output directory: absolute, symlinks resolved
	parent string // filepath.Dir(dir)
	name   string // filepath.Base(dir)
}

// newOutPaths resolves --output: relative to the working directory, and
// through a symlink to the directory it names (publishing renames over
// the path, which would replace the link, not the directory).
func newOutPaths(output string) (outPaths, error) {
	dir, err := filepath.Abs(output)
	if err != nil {
		return outPaths{}, err
	}
	if st, err := os.Lstat(dir); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if dir, err = filepath.EvalSymlinks(dir); err != nil {
			return outPaths{}, fmt.Errorf("--output %s is a symlink to nowhere: %w", output, errors.Unwrap(err))
		}
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return outPaths{}, fmt.Errorf("--output %s: name a directory below it, e.g. %s", output, filepath.Join(dir, "out"))
	}
	return outPaths{dir: dir, parent: parent, name: filepath.Base(dir)}, nil
}

func (o outPaths) lock() string { return filepath.Join(o.parent, "."+o.name+".dist-lock") }

func (o outPaths) staging(job string) string {
	return filepath.Join(o.parent, "."+o.name+".dist-"+job)
}

// jobIDPattern matches the ids newJobID makes (TestJobIDPattern keeps them
// in step): only a name with a job id in it is taken for a dead job's
// staging directory, never another output's files.
const jobIDPattern = `j[0-9]{8}-[0-9]{6}-[0-9a-f]{8}`

// stale reports whether name, an entry of the parent, is a staging
// directory (or old contents) that some job on this output left behind.
func (o outPaths) stale(name string) bool {
	rest, ok := strings.CutPrefix(name, "."+o.name+".dist-")
	return ok && staleSuffix().MatchString(rest)
}

// staleSuffix matches what follows ".NAME.dist-" in a stale entry's name.
// It is compiled once: removeStale asks about every entry of the parent,
// which can be a directory of thousands.
var staleSuffix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^` + jobIDPattern + `(\.old)?$`)
})

// distName reports whether dist writes a file of this name into an output
// directory: the parts, _SUCCESS, and _temporary of dist before the
// staging directory. Anything else in DIR is the user's.
func distName(name string) bool {
	if name == SuccessFile || name == "_temporary" {
		return true
	}
	digits, ok := strings.CutPrefix(name, "part-")
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// checkOutput checks that the job may publish its output at o.dir, which
// it replaces whole: DIR may be missing (its parents are created), an
// empty directory, what a failed job left, or, with overwrite, a finished
// job's output. It may not be a file, lie under one, or hold a file dist
// did not write (replacing DIR would delete it, --overwrite or not).
func checkOutput(o outPaths, overwrite bool) error {
	st, err := os.Lstat(o.dir)
	switch {
	case err != nil && (errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)):
		return checkParents(o)
	case err != nil:
		return fmt.Errorf("--output %s: %w", o.dir, err)
	case !st.IsDir():
		return outputErr(ErrOutputNotDir, "--output %s is %s, not a directory: name a directory (dist creates it)", o.dir, fileKind(st))
	}
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return fmt.Errorf("--output %s: %w", o.dir, err)
	}
	var foreign []string
	finished := false
	for _, e := range ents {
		switch {
		case !distName(e.Name()):
			foreign = append(foreign, e.Name())
		case e.Name() == SuccessFile:
			finished = true
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		more := ""
		if len(foreign) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(foreign)-1)
		}
		return outputErr(ErrOutputForeign, "--output %s holds %s%s, which dist did not write: move it away or choose another --output (the job replaces the whole directory)",
			o.dir, foreign[0], more)
	}
	if finished && !overwrite {
		return fmt.Errorf("%w: %s already holds %s: choose another --output or pass --overwrite",
			ErrOutputTaken, o.dir, SuccessFile)
	}
	return nil
}

// checkParents checks that the nearest existing ancestor of a missing
// output directory is a directory, so that it can be created.
func checkParents(o outPaths) error {
	for p := o.parent; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return nil
		case err == nil:
			return outputErr(ErrOutputNotDir, "--output %s: %s is %s, not a directory: choose another --output", o.dir, p, fileKind(st))
		case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("--output %s: %w", o.dir, err)
		case filepath.Dir(p) == p:
			return nil
		}
	}
}

func fileKind(st os.FileInfo) string {
	if st.Mode().IsRegular() {
		return "a regular file"
	}
	return "a special file"
}

func outputErr(kind error, format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), kind: kind}
}
