package main

// Issue 10 items 3, 4 and 11: the output commit is exclusive and all or
// nothing, _SUCCESS is a manifest, and --output must name a directory.

import (
	"encoding/json"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// manifest is _SUCCESS as DESIGN.md describes it, parsed here
// independently of package client.
type manifest struct {
	Job   *string `json:"job"`
	Parts []struct {
		Name   *string `json:"name"`
		Size   *int64  `json:"size"`
		CRC32C *uint32 `json:"crc32c"`
	} `json:"parts"`
}

// checkManifest checks that dir holds _SUCCESS naming a job, and exactly
// the part files it lists, each of the size and CRC-32C (Castagnoli) it
// says, sorted by name, and nothing else. It returns the job id.
func checkManifest(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "_SUCCESS"))
	if err != nil {
		t.Fatalf("no _SUCCESS: %v", err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Job == nil || !strings.HasPrefix(*m.Job, "j") {
		t.Fatalf("_SUCCESS is not a manifest naming its job (%v):\n%s", err, b)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	unlisted := map[string]bool{}
	for _, e := range ents {
		if e.Name() != "_SUCCESS" {
			unlisted[e.Name()] = true
		}
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	var names []string
	for _, p := range m.Parts {
		if p.Name == nil || p.Size == nil || p.CRC32C == nil {
			t.Fatalf("manifest part without name, size or crc32c:\n%s", b)
		}
		data, err := os.ReadFile(filepath.Join(dir, *p.Name))
		if err != nil {
			t.Fatalf("manifest lists %s: %v", *p.Name, err)
		}
		if int64(len(data)) != *p.Size || crc32.Checksum(data, table) != *p.CRC32C {
			t.Fatalf("%s: %d bytes CRC-32C %d, manifest says %d bytes CRC-32C %d",
				*p.Name, len(data), crc32.Checksum(data, table), *p.Size, *p.CRC32C)
		}
		delete(unlisted, *p.Name)
		names = append(names, *p.Name)
	}
	if len(unlisted) > 0 {
		t.Fatalf("%s holds files the manifest does not list: %v", dir, testenv.SortedKeys(unlisted))
	}
	if !sort.StringsAreSorted(names) || len(names) == 0 {
		t.Fatalf("manifest parts not sorted by name, or none: %v", names)
	}
	return *m.Job
}

// checkNothingBeside checks that no job left a lock or staging directory
// beside the output directory.
func checkNothingBeside(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".dist-*"))
	if len(left) > 0 {
		t.Fatalf("left beside the output: %v", left)
	}
}

// snapshotDir is a directory's files and contents; nil when it is missing.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameSnapshot(a, b map[string]string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkAsBeforeOrComplete checks what a killed job left: the output as it
// was before the job, or complete (a manifest, the exact word counts).
// It reports whether the output is complete now.
func checkAsBeforeOrComplete(t *testing.T, out string, before map[string]string, books []string) bool {
	t.Helper()
	now := snapshotDir(t, out)
	_, err := os.Stat(filepath.Join(out, "_SUCCESS"))
	complete := err == nil
	if !sameSnapshot(now, before) && !complete {
		names := testenv.SortedKeys(now)
		if len(names) > 5 {
			names = append(names[:5], "...")
		}
		t.Fatalf("the killed job left %s neither as it was nor complete: %d files %v", out, len(now), names)
	}
	if complete {
		checkManifest(t, out)
		checkWordCounts(t, out, books)
	}
	return complete
}

// stagedParts counts the part files in the staging directories beside out.
func stagedParts(out string) int {
	parts, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".dist-*", "part-*"))
	return len(parts)
}

// watchForPart waits, by inotify, until a file named part-* is created or
// renamed into out or into a directory beside it named .NAME.dist-*
// (the staging directory), and reports whether it saw one before done
// was closed or the deadline passed.
func watchForPart(t *testing.T, out string, done <-chan struct{}, deadline time.Time) bool {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	parent, name := filepath.Dir(out), filepath.Base(out)
	dirs := map[int32]string{}
	watch := func(dir string) bool {
		wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_ONLYDIR)
		if err != nil {
			return false // gone already
		}
		dirs[int32(wd)] = dir
		parts, _ := filepath.Glob(filepath.Join(dir, "part-*")) // made before the watch
		return len(parts) > 0 && dir != parent
	}
	ours := func(n string) bool { return n == name || strings.HasPrefix(n, "."+name+".dist-") }
	watch(parent)
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.IsDir() && ours(e.Name()) && watch(filepath.Join(parent, e.Name())) {
			return true
		}
	}
	buf := make([]byte, 64<<10)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false
		default:
		}
		if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		n, err := unix.Read(fd, buf)
		if err == unix.EAGAIN {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			raw := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			file := strings.TrimRight(string(raw), "\x00")
			dir := dirs[ev.Wd]
			switch {
			case dir == parent && ev.Mask&unix.IN_ISDIR != 0 && ours(file):
				if watch(filepath.Join(parent, file)) {
					return true
				}
			case dir != parent && dir != "" && strings.HasPrefix(file, "part-"):
				return true
			}
		}
	}
	return false
}

// Item 3: a client SIGKILLed while it commits (and at random instants of
// its job) leaves the output as it was or complete, and a rerun without
// --overwrite gives the exact answer.
func TestTrustCommitKilledMidCommit(t *testing.T) {
	t.Parallel()
	glob, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	args := []string{"run", "--local", "2", "--app", env.App(t, "wordcount"), "--input", glob,
		"--output", out, "--reduces", "300", "--quiet"}

	start := time.Now()
	job := startDist(t, args...)
	done := make(chan struct{})
	go func() { job.wait(t); close(done) }()
	if !watchForPart(t, out, done, time.Now().Add(3*time.Minute)) {
		r := job.wait(t)
		t.Fatalf("no part file appeared before the job ended (exit %d):\n%s", r.code, r.stderr)
	}
	_ = job.cmd.Process.Kill() // SIGKILL, by pid
	<-done
	jobTime := time.Since(start)
	complete := checkAsBeforeOrComplete(t, out, nil, books)
	t.Logf("killed at its first committed part after %v: %d parts staged, output complete: %v",
		jobTime.Round(time.Millisecond), stagedParts(out), complete)
	if !complete {
		start := time.Now()
		mustRun(t, args...) // no --overwrite: nothing was committed
		jobTime = min(jobTime, time.Since(start))
		checkManifest(t, out)
		checkWordCounts(t, out, books)
		checkNothingBeside(t, out)
	}

	// Kill runs that replace it at random instants: the output stays the
	// old one or becomes the new one, never a mix.
	for trial := range 3 {
		if trial == 1 { // one trial starts from nothing
			if err := os.RemoveAll(out); err != nil {
				t.Fatal(err)
			}
		}
		before := snapshotDir(t, out)
		trialArgs := append(args[:len(args):len(args)], "--overwrite")
		at := rand.N(jobTime * 8 / 10) // the job's run time varies with the machine's load
		job := startDist(t, trialArgs...)
		timer := time.AfterFunc(at, func() { _ = job.cmd.Process.Kill() })
		r := job.wait(t)
		timer.Stop()
		complete = checkAsBeforeOrComplete(t, out, before, books)
		t.Logf("trial %d: SIGKILL after %v: exit %d, %d parts staged, output complete: %v",
			trial, at.Round(time.Millisecond), r.code, stagedParts(out), complete)
	}
	if !complete {
		mustRun(t, args...)
	}
	checkManifest(t, out)
	checkWordCounts(t, out, books)
	checkNothingBeside(t, out)
}

// jobOf reads the job id from a successful run's summary.
func jobOf(t *testing.T, r result) string {
	t.Helper()
	m := regexp.MustCompile(`job (j\S+) succeeded`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no job id in the summary:\n%s", r.stdout)
	}
	return m[1]
}

// Item 4: two clients on one --output. Each either succeeds with its own
// exact answer or fails at once naming the other; never do both succeed
// (without --overwrite, one would have deleted the other's output).
func TestTrustCommitTwoClientsOneOutput(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	wc := env.App(t, "wordcount")
	halves := [2][]string{books[:len(books)/2], books[len(books)/2:]}
	for trial := range 5 {
		out := filepath.Join(t.TempDir(), "out")
		var jobs [2]*background
		for i, in := range halves {
			args := []string{"run", "--local", "1", "--app", wc, "--output", out, "--reduces", "3"}
			for _, b := range in {
				args = append(args, "--input", b)
			}
			jobs[i] = startDist(t, args...)
		}
		rs := [2]result{jobs[0].wait(t), jobs[1].wait(t)}
		if rs[0].code == 0 && rs[1].code == 0 {
			t.Fatalf("trial %d: both jobs on %s exited 0 without --overwrite", trial, out)
		}
		won := 0
		if rs[1].code == 0 {
			won = 1
		}
		if rs[won].code != 0 {
			t.Fatalf("trial %d: neither job succeeded:\n%s\n%s", trial, rs[0].stderr, rs[1].stderr)
		}
		winner, loser := jobOf(t, rs[won]), rs[1-won]
		// Busy while the winner ran; or, had it started after the winner
		// ended, refused for the finished output (in Run, or in Prepare).
		busy := loser.code == 1 && strings.Contains(loser.stderr, "is in use by job "+winner+" (pid ")
		taken := loser.code != 0 && strings.Contains(loser.stderr, "already holds _SUCCESS")
		if !busy && !taken || !strings.Contains(loser.stderr, "choose another --output") {
			t.Fatalf("trial %d: the other job exited %d and did not name %s:\n%s", trial, loser.code, winner, loser.stderr)
		}
		if got := checkManifest(t, out); got != winner {
			t.Fatalf("trial %d: the manifest names %s, the job that succeeded is %s", trial, got, winner)
		}
		checkWordCounts(t, out, halves[won])
		checkNothingBeside(t, out)
		t.Logf("trial %d: job %d won; the other was told: %s", trial, won, lastLines(loser.stderr, 1))
	}
}

// Item 4: a job SIGKILLed while it holds its output does not block the
// next one, which needs no --overwrite and removes what the dead one left.
func TestTrustCommitDeadHolderDoesNotBlock(t *testing.T) {
	t.Parallel()
	glob, books := booksGlob(t)
	out := filepath.Join(t.TempDir(), "out")
	w := testenv.StartWorker(t, env.Dist(t))
	stalled := startDist(t, "run", "--workers", w.Addr, "--app", env.App(t, "crashy"), "--input", glob, "--output", out,
		"--param", "stall=1", "--param", "stall_secs=600")
	waitFor(t, time.Minute, "maps running", func() bool { return len(attemptDirs(w, "task.msgpack")) > 0 })
	// While it runs, a second job fails at once, naming it.
	r := dist(t, "run", "--local", "1", "--app", env.App(t, "wordcount"), "--input", glob, "--output", out, "--quiet")
	if r.code != 1 || !regexp.MustCompile(`output \S+ is in use by job j\S+ \(pid \d+ on host .*, started [0-9:]+\): wait for it or choose another --output\n$`).MatchString(r.stderr) {
		t.Fatalf("a second job on a held output: exit %d, want 1 and a line naming the holder:\n%s", r.code, r.stderr)
	}
	if lines := strings.Count(r.stderr, "\n"); lines != 1 {
		t.Fatalf("want a one-line error:\n%s", r.stderr)
	}
	_ = stalled.cmd.Process.Kill()
	stalled.wait(t)

	r = mustRun(t, "run", "--local", "2", "--app", env.App(t, "wordcount"), "--input", glob, "--output", out, "--reduces", "3")
	if got := checkManifest(t, out); got != jobOf(t, r) {
		t.Fatalf("the manifest names %s, not the job that ran (%s)", got, jobOf(t, r))
	}
	checkWordCounts(t, out, books)
	checkNothingBeside(t, out)
}

// The manifest of a reduce job, of a map-only job, of a job that replaces
// a failed job's leftovers and of one that overwrites a finished output.
func TestTrustCommitManifest(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	root := t.TempDir()
	out := filepath.Join(root, "missing", "parents", "out") // created
	wordcount := func(reduces string, in []string, extra ...string) result {
		args := []string{"run", "--local", "2", "--app", env.App(t, "wordcount"), "--output", out, "--reduces", reduces}
		for _, b := range in {
			args = append(args, "--input", b)
		}
		return mustRun(t, append(args, extra...)...)
	}
	r := wordcount("5", books[:3])
	if got := checkManifest(t, out); got != jobOf(t, r) {
		t.Fatalf("the manifest names %s, the job was %s", got, jobOf(t, r))
	}
	assertCommitted(t, out, 5)
	checkWordCounts(t, out, books[:3])

	// --overwrite replaces it whole: a new manifest, the new answer.
	r = wordcount("2", books[3:5], "--overwrite")
	if got := checkManifest(t, out); got != jobOf(t, r) {
		t.Fatalf("after --overwrite the manifest names %s, the job was %s", got, jobOf(t, r))
	}
	assertCommitted(t, out, 2)
	checkWordCounts(t, out, books[3:5])
	checkNothingBeside(t, out)

	// What a killed job of the old layout left (parts, no _SUCCESS) is
	// replaced without --overwrite; here by a map-only job.
	leftovers := filepath.Join(root, "leftovers")
	for _, f := range []string{"part-00000", "part-00007", "_temporary/r-00001-0/part-00001"} {
		writeFileT(t, filepath.Join(leftovers, f), "stale\t1\n")
	}
	grep := []string{"run", "--local", "2", "--app", env.App(t, "grep"), "--output", leftovers,
		"--reduces", "0", "--param", "pattern=[Ww]hale"}
	for _, b := range books[:3] {
		grep = append(grep, "--input", b)
	}
	r = mustRun(t, grep...)
	if got := checkManifest(t, leftovers); got != jobOf(t, r) {
		t.Fatalf("map-only job: the manifest names %s, the job was %s", got, jobOf(t, r))
	}
	assertCommitted(t, leftovers, 3) // one part per map, nothing stale
	matches, re := 0, regexp.MustCompile("[Ww]hale")
	testenv.Lines(t, books[:3], func(_ string, _ int64, line string) {
		if re.MatchString(line) {
			matches++
		}
	})
	if got := len(testenv.ReadOutput(t, leftovers)); got != matches || matches == 0 {
		t.Fatalf("map-only job: %d matching lines, want %d", got, matches)
	}
}

func writeFileT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Item 11 and foreign files: an --output that is a file, lies under one,
// or holds a file dist did not write is refused with exit status 2 before
// any worker starts, --overwrite or not, and nothing is touched.
func TestTrustCommitRefusedOutputs(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	root := t.TempDir()
	file := filepath.Join(root, "file")
	writeFileT(t, file, "precious\n")
	mixed := filepath.Join(root, "mixed")
	writeFileT(t, filepath.Join(mixed, "notes.txt"), "mine\n")
	writeFileT(t, filepath.Join(mixed, "part-00000"), "old\t1\n")
	writeFileT(t, filepath.Join(mixed, "_SUCCESS"), "")
	mine := filepath.Join(root, "mine")
	writeFileT(t, filepath.Join(mine, "data.csv"), "a,b\n")
	cases := []struct {
		output, says string
	}{
		{file, "--output " + file + " is a regular file, not a directory"},
		{filepath.Join(file, "out"), file + " is a regular file, not a directory"},
		{mixed, "holds notes.txt, which dist did not write"},
		{mine, "holds data.csv, which dist did not write"},
	}
	before := snapshotDir(t, root)
	for _, c := range cases {
		for _, overwrite := range []bool{false, true} {
			args := []string{"run", "--local", "2", "--app", env.App(t, "wordcount"), "--input", books[0], "--output", c.output}
			if overwrite {
				args = append(args, "--overwrite")
			}
			start := time.Now()
			r := dist(t, args...)
			if r.code != 2 || !strings.Contains(r.stderr, c.says) {
				t.Fatalf("--output %s (overwrite %v): exit %d, want 2 saying %q:\n%s", c.output, overwrite, r.code, c.says, r.stderr)
			}
			// One line, and no job header: it stopped before any worker started.
			if strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "job j") || r.stdout != "" {
				t.Fatalf("--output %s: want one error line before anything starts:\n%s%s", c.output, r.stdout, r.stderr)
			}
			t.Logf("--output %s (overwrite %v): refused in %v", c.output, overwrite, time.Since(start).Round(time.Millisecond))
		}
	}
	if !sameSnapshot(snapshotDir(t, root), before) {
		t.Fatal("a refused job changed files")
	}
	if ents, _ := filepath.Glob(filepath.Join(root, ".*")); len(ents) > 0 {
		t.Fatalf("a refused job left %v", ents)
	}
}
