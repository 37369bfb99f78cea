package master

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// zkTimeout bounds the ZooKeeper calls made while a job is let go, which
// must not wait on a host context that has ended.
const zkTimeout = 10 * time.Second

// follow waits for j's candidacy to lead, then runs its master. It owns
// one count of h.wg.
func (h *Host) follow(j *job) {
	defer h.wg.Done()
	defer h.forget(j)
	log := h.log.With("job", j.id)
	select {
	case <-j.cand.Leading():
	case <-j.cand.Lost():
		log.Info("job candidacy lost while standing by")
		h.lookSoon()
		return
	case <-h.ctx.Done():
		h.resign(j)
		return
	}
	h.mu.Lock()
	j.slot = true
	self := h.self
	h.mu.Unlock()
	_, err := h.cfg.ZK.UpdateJob(h.ctx, j.id, func(r *registry.JobRecord) error {
		return claim(r, self)
	})
	switch {
	case errors.Is(err, errEnded) || errors.Is(err, registry.ErrNoJob):
		h.resign(j)
		h.unpin(j.id)
		return
	case err != nil:
		log.Warn("cannot take the job's master over", "err", err)
		h.resign(j) // another candidate may fare better
		return
	}
	h.runMaster(j)
}

// claim names self's master in r, counting a takeover when a master ran
// the job before: another host's, or this host's own (it lost the job's
// election, cut off from ZooKeeper, and won it back). Each master numbers
// its attempts from its takeover count (dist run --hosted), so that none
// reuses a number a worker still holds for an attempt of an earlier one.
func claim(r *registry.JobRecord, self registry.WorkerInfo) error {
	if r.State.Ended() {
		return errEnded
	}
	if r.MasterID != "" && (r.MasterID != self.ID || r.State == registry.JobRunning) {
		r.Takeovers++
	}
	r.Master, r.MasterID = self.Addr, self.ID
	return nil
}

// runMaster runs j's master process until it exits, the candidacy is lost
// or the host closes.
func (h *Host) runMaster(j *job) {
	log := h.log.With("job", j.id)
	logPath := filepath.Join(h.jobDir(j.id), masterLog)
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		h.endMaster(j, fmt.Sprintf("the job master did not start: %v", err))
		return
	}
	cmd := h.cfg.Command(h.ctx, h.masterArgs(j))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = masterProcAttr()
	err = cmd.Start()
	out.Close() // the child holds its own copy
	if err != nil {
		h.endMaster(j, fmt.Sprintf("the job master did not start: %v", err))
		return
	}
	h.mu.Lock()
	j.proc = cmd.Process
	killed := j.killed
	h.mu.Unlock()
	log.Info("job master started", "pid", cmd.Process.Pid)
	if killed { // Kill came between the record naming this master and now
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-j.cand.Lost():
		// Another master may already run the job: stop at once and
		// touch nothing.
		killGroup(cmd.Process.Pid)
		<-waited
		h.clearProc(j)
		log.Warn("job candidacy lost: master killed")
		h.lookSoon()
		return
	case <-h.ctx.Done():
		killGroup(cmd.Process.Pid)
		<-waited
		h.clearProc(j)
		h.resign(j)
		log.Info("job master killed at shutdown: a standby takes the job over")
		return
	}
	h.clearProc(j)
	line := lastLine(logPath)
	if line == "" && err != nil {
		line = err.Error()
	}
	log.Info("job master exited", "err", err)
	h.endMaster(j, "the job master exited: "+line)
}

// endMaster fails j's record with why unless the master ended it (or the
// candidacy is gone), resigns, and removes the job's directory once the
// job ended.
func (h *Host) endMaster(j *job, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), zkTimeout)
	defer cancel()
	select {
	case <-j.cand.Lost():
		return
	default:
	}
	rec, err := h.cfg.ZK.UpdateJob(ctx, j.id, func(r *registry.JobRecord) error {
		if r.State.Ended() {
			return errEnded
		}
		r.State, r.Error, r.Ended = registry.JobFailed, why, time.Now()
		if r.KillRequested {
			r.State = registry.JobKilled
		}
		return nil
	})
	ended := err == nil || errors.Is(err, errEnded) || errors.Is(err, registry.ErrNoJob)
	if err == nil {
		h.log.Warn("job master left its job unfinished", "job", j.id, "state", rec.State, "why", why)
	} else if !ended {
		h.log.Warn("cannot record how the job master ended", "job", j.id, "err", err)
	}
	h.resign(j)
	if ended {
		h.unpin(j.id)
	}
}

// fail marks job id failed with why.
func (h *Host) fail(id, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), zkTimeout)
	defer cancel()
	_, err := h.cfg.ZK.UpdateJob(ctx, id, func(r *registry.JobRecord) error {
		r.State, r.Error, r.Ended = registry.JobFailed, why, time.Now()
		return nil
	})
	if err != nil {
		h.log.Warn("cannot mark job failed", "job", id, "err", err)
	}
}

// resign gives up j's candidacy.
func (h *Host) resign(j *job) {
	ctx, cancel := context.WithTimeout(context.Background(), zkTimeout)
	defer cancel()
	if err := j.cand.Resign(ctx); err != nil {
		h.log.Info("job candidacy resign failed", "job", j.id, "err", err)
	}
}

func (h *Host) clearProc(j *job) {
	h.mu.Lock()
	j.proc = nil
	h.mu.Unlock()
}

// killGroup SIGKILLs the process group a master leads.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }

// masterArgs are the dist run arguments of j's master.
func (h *Host) masterArgs(j *job) []string {
	args := []string{"--hosted", "--job-id", j.id}
	args = append(args, h.cfg.BaseArgs...)
	args = append(args, "--ui", "127.0.0.1:0")
	for _, f := range j.spec.Programs {
		args = append(args, "--"+f.Flag, h.pinPath(j.id, f))
	}
	return append(args, j.spec.Args...)
}

func (h *Host) jobDir(id string) string { return filepath.Join(h.cfg.Dir, id) }

// pinPath is where f of job id is pinned: Dir/<id>/<flag>/<name>, side
// files under files/.
func (h *Host) pinPath(id string, f proto.JobFile) string {
	dir := f.Flag
	if dir == "file" {
		dir = "files"
	}
	return filepath.Join(h.jobDir(id), dir, f.Name)
}

// pin links (or copies) each of j's programs from the worker's cache into
// the job's directory, where cache eviction cannot take them.
func (h *Host) pin(j *job) error {
	for _, f := range j.spec.Programs {
		src, ok := h.cfg.Artifact(f.SHA)
		if !ok {
			return proto.Errorf(proto.CodeNotFound, "--%s %s (sha256 %s) is not in this worker's cache: PutArtifact it first", f.Flag, f.Name, f.SHA)
		}
		dst := h.pinPath(j.id, f)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return proto.Errorf(proto.CodeInternal, "pin job %s's programs: %v", j.id, err)
		}
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				return proto.Errorf(proto.CodeInternal, "pin job %s's programs: %v", j.id, err)
			}
		}
	}
	return nil
}

// unpin removes job id's directory.
func (h *Host) unpin(id string) {
	dir := h.jobDir(id)
	ents, err := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() == masterLog {
			continue // dist logs JOB master, until the job's record expires (prune)
		}
		err = errors.Join(err, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.log.Warn("cannot remove a job's programs", "job", id, "err", err)
	}
	_ = os.Remove(dir) // empty unless its master ran here and logged
}

// copyFile copies src to a new file dst, executable like the cache's.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

// lastLine is the last non-empty line of the file at path, at most 300
// bytes of it; "" when there is none.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, 4096)
	if fi, err := f.Stat(); err == nil && fi.Size() > int64(len(buf)) {
		_, _ = f.Seek(fi.Size()-int64(len(buf)), io.SeekStart)
	}
	n, _ := io.ReadFull(f, buf)
	lines := bytes.Split(bytes.TrimSpace(buf[:n]), []byte("\n"))
	line := strings.TrimSpace(string(lines[len(lines)-1]))
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}

// programFlags are the JobFile flags, each given at most once except
// "file".
var programFlags = []string{"app", "mapper", "reducer", "combiner", "file"}

// checkSpec checks what a submitter sends: a safe job id, detachable
// args, and files with safe names and well-formed hashes.
func checkSpec(s proto.JobSpec) error {
	if !spec.ValidName(s.ID) {
		return fmt.Errorf("job id %q is not a safe name ([A-Za-z0-9._-], at most 128 bytes)", s.ID)
	}
	if err := CheckArgs(s.Args); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, f := range s.Programs {
		key := f.Flag
		if f.Flag == "file" {
			key = "file " + f.Name
		}
		switch {
		case !slices.Contains(programFlags, f.Flag):
			return fmt.Errorf("job file %q has flag %q: want one of %s", f.Name, f.Flag, strings.Join(programFlags, ", "))
		case !spec.ValidName(f.Name):
			return fmt.Errorf("job file name %q is not a safe name", f.Name)
		case !artifact.ValidSHA(f.SHA):
			return fmt.Errorf("job file %s: %q is not a sha256 in hex", f.Name, f.SHA)
		case seen[key]:
			return fmt.Errorf("job file --%s %s is given twice", f.Flag, f.Name)
		}
		seen[key] = true
	}
	if !seen["app"] && !seen["mapper"] {
		return errors.New("the job has no program: ship --app, or --mapper with --exec")
	}
	return nil
}

// appName is what the job's record calls its program.
func appName(s proto.JobSpec) string {
	for _, f := range s.Programs {
		if f.Flag == "app" || f.Flag == "mapper" {
			return f.Name
		}
	}
	return ""
}
