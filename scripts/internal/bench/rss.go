package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rssInterval is how often the process tree's memory is sampled.
const rssInterval = 20 * time.Millisecond

// timedRSS runs cmd and returns its wall time and the peak RSS, in
// bytes, of cmd and all its descendants together, sampled every
// rssInterval from /proc (a tree's peak is the peak of a sum, which no
// rusage reports). Where /proc is missing it reports the largest single
// process's peak instead.
func timedRSS(cmd *exec.Cmd) (time.Duration, int64, error) {
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	stop := make(chan struct{})
	peakc := make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			peak = max(peak, treeRSS(cmd.Process.Pid))
			select {
			case <-stop:
				peakc <- peak
				return
			case <-t.C:
			}
		}
	}()
	err := cmd.Wait()
	d := time.Since(start)
	close(stop)
	peak := <-peakc
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		peak = max(peak, ru.Maxrss<<10) // kilobytes on Linux
	}
	if err != nil {
		return d, peak, fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
	}
	return d, peak, nil
}

// treeRSS sums the resident memory of pid and its descendants now.
func treeRSS(root int) int64 {
	var sum int64
	page := int64(os.Getpagesize())
	kids := childrenOf
	if _, err := os.Stat("/proc/" + strconv.Itoa(root) + "/task/" + strconv.Itoa(root) + "/children"); err != nil {
		kids = scanChildren() // no children files: one scan of /proc
	}
	for queue := []int{root}; len(queue) > 0; queue = queue[1:] {
		pid := queue[0]
		sum += residentPages(pid) * page
		queue = append(queue, kids(pid)...)
	}
	return sum
}

// childrenOf lists the children of pid from the children file of each
// of its threads: cheap enough to sample often without disturbing
// what is measured.
func childrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	threads, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range threads {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// scanChildren reads every process's parent from /proc once.
func scanChildren() func(int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	return func(pid int) []int { return children[pid] }
}

// parentOf reads the parent pid from /proc/PID/stat, whose second field
// (the command name, in parentheses) may itself hold spaces.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// residentPages reads the resident set size, in pages, of pid.
func residentPages(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n
}
