package worker

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/distmr/dist/task/spec"
)

// procStat is what /proc/<pid>/stat says of a process.
type procStat struct {
	pgrp   int
	start  uint64 // clock ticks after boot
	zombie bool
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// "pid (comm) state ppid pgrp ...": comm may hold anything, so count
	// fields from its closing parenthesis: state is field 3, pgrp 5,
	// starttime 22.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 20 {
		return procStat{}, errors.New("unreadable /proc stat of pid " + strconv.Itoa(pid))
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, errors.New("unreadable /proc stat of pid " + strconv.Itoa(pid))
	}
	return procStat{pgrp: pgrp, start: start, zombie: f[0] == "Z" || f[0] == "X"}, nil
}

// processStart returns when pid started, to tell it from a later process
// given the same pid.
func processStart(pid int) (uint64, error) {
	st, err := readProcStat(pid)
	return st.start, err
}

// groupAlive reports whether the recorded process group still runs and
// is the one recorded. While its leader exists (alive, or a zombie nobody
// reaped, its children still running) it must have the recorded start
// time. Once the leader is gone the group can still hold processes
// the task started; the kernel does not reuse a pgid while any of them
// lives, but a group of the same number made after they all died is not
// ours, so a leaderless group counts only if one of its processes works in
// the attempt's directory or has it as its DIST_TASK_DIR.
func groupAlive(r groupRecord) bool {
	if st, err := readProcStat(r.pgid); err == nil {
		return st.start == r.start && st.pgrp == r.pgid
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err == nil && st.pgrp == r.pgid && !st.zombie && st.start >= r.start && worksIn(pid, r.dir) {
			return true
		}
	}
	return false
}

// worksIn reports whether pid's working directory is dir or beneath it,
// or its environment names dir as its task directory.
func worksIn(pid int, dir string) bool {
	proc := "/proc/" + strconv.Itoa(pid)
	if cwd, err := os.Readlink(proc + "/cwd"); err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+"/")) {
		return true
	}
	env, err := os.ReadFile(proc + "/environ")
	return err == nil && bytes.Contains(append([]byte{0}, env...), []byte("\x00"+spec.EnvTaskDir+"="+dir+"\x00"))
}
