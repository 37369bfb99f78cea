package worker

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// The sandbox basics every task gets: a scrubbed environment (taskEnv),
// its task directory as working directory, its own process group, limits
// on open files and processes, and, when the worker runs as root and
// RunAs names a user, that user's identity instead of root's.
//
// With RunAs the program starts through the shim (sandbox_shim.go), which
// sets the limits and the identity before it execs the program. Without
// RunAs the limits are set with prlimit(2) right after the program starts
// (Go's os/exec cannot set them between fork and exec): a Go program's
// runtime takes far longer to reach user code than that, but a program in
// another language could open files or fork in its first microseconds.
// The limits contain mistakes, not an attacker who holds the cluster
// secret (who can run any code anyway; see SECURITY.md).

// sandbox applies Security's task settings.
type sandbox struct {
	maxFiles uint64
	maxProcs uint64              // 0: no limit
	cred     *syscall.Credential // with RunAs
	runAs    string
	self     string // this executable, started as the shim with RunAs
}

// newSandbox resolves RunAs and checks the worker may use it.
func newSandbox(s Security) (*sandbox, error) {
	sb := &sandbox{maxFiles: s.TaskMaxFiles, maxProcs: s.TaskMaxProcs, runAs: s.RunAs}
	if s.RunAs == "" {
		return sb, nil
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: --run-as %s needs the worker to run as root (it runs as uid %d): drop --run-as or start the worker as root",
			ErrConfig, s.RunAs, os.Geteuid())
	}
	u, err := user.Lookup(s.RunAs)
	if err != nil {
		if u, err = user.LookupId(s.RunAs); err != nil {
			return nil, fmt.Errorf("%w: --run-as %s: no such user: create it (useradd --system dist-task) or name another", ErrConfig, s.RunAs)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: --run-as %s: uid %q / gid %q are not numbers", ErrConfig, s.RunAs, u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("%w: --run-as %s is root: name an unprivileged user", ErrConfig, s.RunAs)
	}
	sb.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	if sb.self, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("%w: --run-as: find the worker's own executable: %v", ErrConfig, err)
	}
	return sb, nil
}

// apply makes cmd start the program through the shim with RunAs.
func (sb *sandbox) apply(cmd *exec.Cmd) {
	if sb.cred != nil {
		sb.useShim(cmd)
	}
}

// start finishes the sandbox of a started task: without RunAs it sets
// the limits with prlimit (with RunAs the shim has set them already).
func (sb *sandbox) start(pid int) error {
	if sb.cred != nil {
		return nil
	}
	return sb.limit(pid)
}

// taskUID is the uid tasks run as with RunAs; -1 without (they run as
// the worker's own user).
func (sb *sandbox) taskUID() int {
	if sb.cred == nil {
		return -1
	}
	return int(sb.cred.Uid)
}

// filesLimit is the open files limit, never above the worker's own hard
// limit (which an unprivileged worker cannot exceed).
func (sb *sandbox) filesLimit() uint64 {
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err != nil {
		return sb.maxFiles
	}
	return min(sb.maxFiles, own.Max)
}

// prepare gives the attempt directory to the task's user, so that a task
// running as RunAs can read its inputs and write its outputs. Entries are
// given away before their directory: while a directory is still the
// worker's no task can replace what is in it, so no Lchown here goes
// through a symlink that a task (of another attempt, running as the same
// user) planted.
func (sb *sandbox) prepare(dir string) error {
	if sb.cred == nil {
		return nil
	}
	return sb.chownTree(dir)
}

func (sb *sandbox) chownTree(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		ents, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := sb.chownTree(filepath.Join(p, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := os.Lchown(p, int(sb.cred.Uid), int(sb.cred.Gid)); err != nil {
		return fmt.Errorf("give %s to --run-as %s: %w", p, sb.runAs, err)
	}
	return nil
}

// checkReachable makes sure the RunAs user can reach the artifact cache
// and the task directories under dir: every directory on the way must let
// others search it.
func (sb *sandbox) checkReachable(dir string) error {
	if sb.cred == nil {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%w: --run-as %s: the task user cannot reach %s: %s is mode %v: chmod o+x %s or choose a --dir under a searchable directory",
				ErrConfig, sb.runAs, dir, d, fi.Mode().Perm(), d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// limitError explains a limit that could not be set.
func limitError(what string, n uint64, err error) error {
	return fmt.Errorf("limit the task's %s to %d: %w", what, n, err)
}

// prepareSandbox checks at Start that tasks can run as configured and
// says how they will run.
func (w *Worker) prepareSandbox() error {
	sb := w.sandbox
	if err := sb.checkReachable(w.cache.dir); err != nil {
		return err
	}
	if sb.cred != nil {
		if err := sb.checkShim(); err != nil {
			return err
		}
	}
	log := w.cfg.Logger // Start has not named the worker yet
	switch {
	case sb.cred != nil:
		log.Info("tasks run as another user", "run_as", sb.runAs, "uid", sb.cred.Uid,
			"max_files", sb.maxFiles, "max_procs", sb.maxProcs)
	case os.Geteuid() == 0:
		log.Warn("tasks run as root: give --run-as USER (an unprivileged user of their own) to contain them")
	default:
		log.Debug("tasks run as the worker's user", "max_files", sb.maxFiles, "max_procs", sb.maxProcs)
	}
	return nil
}
