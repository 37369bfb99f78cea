package client

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

func outPathsT(t *testing.T, dir string) outPaths {
	t.Helper()
	o, err := newOutPaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Replaces the old TestCommitAndAbort: part files without _SUCCESS (a
// failed or killed job's leftovers) no longer block a job (issue 10 item 3).
func TestCheckOutput(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	writeFile(t, file, "x")
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "leftovers", "part-00000"), "a\t1\n")
	writeFile(t, filepath.Join(root, "leftovers", "_temporary", "r-00000-0", "part-00000"), "")
	writeFile(t, filepath.Join(root, "done", "part-00000"), "a\t1\n")
	writeFile(t, filepath.Join(root, "done", SuccessFile), "")
	writeFile(t, filepath.Join(root, "mixed", "part-00000"), "a\t1\n")
	writeFile(t, filepath.Join(root, "mixed", "notes.txt"), "mine")
	writeFile(t, filepath.Join(root, "hidden", ".notes"), "mine")
	cases := []struct {
		dir       string
		overwrite bool
		want      error
		says      string
	}{
		{"missing", false, nil, ""},
		{"missing/parents/too", false, nil, ""},
		{"empty", false, nil, ""},
		{"leftovers", false, nil, ""},
		{"done", false, ErrOutputTaken, "--overwrite"},
		{"done", true, nil, ""},
		{"mixed", true, ErrOutputForeign, "notes.txt"},
		{"hidden", false, ErrOutputForeign, ".notes"},
		{"file", false, ErrOutputNotDir, "is a regular file, not a directory"},
		{"file", true, ErrOutputNotDir, "is a regular file, not a directory"},
		{"file/out", true, ErrOutputNotDir, file + " is a regular file"},
	}
	for _, c := range cases {
		err := checkOutput(outPathsT(t, filepath.Join(root, c.dir)), c.overwrite)
		if !errors.Is(err, c.want) || c.want == nil && err != nil || err != nil && !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s (overwrite %v): err = %v, want %v saying %q", c.dir, c.overwrite, err, c.want, c.says)
		}
	}
}

func TestJobIDPattern(t *testing.T) {
	id := newJobID()
	if !regexp.MustCompile(`^` + jobIDPattern + `$`).MatchString(id) {
		t.Fatalf("job id %q does not match jobIDPattern: stale staging directories would never be removed", id)
	}
	o := outPathsT(t, filepath.Join(t.TempDir(), "out"))
	for name, want := range map[string]bool{
		"." + "out.dist-" + id: true, ".out.dist-" + id + ".old": true, ".out.dist-lock": false,
		".out.dist-x.dist-" + id: false, "out": false, ".other.dist-" + id: false,
	} {
		if o.stale(name) != want {
			t.Errorf("stale(%q) = %v", name, !want)
		}
	}
}

func TestLockOutput(t *testing.T) {
	o := outPathsT(t, filepath.Join(t.TempDir(), "out"))
	me := holder{Job: "j1", PID: os.Getpid(), Host: hostname(), Started: time.Now()}
	if err := checkNotHeld(o); err != nil {
		t.Fatal(err)
	}
	l, err := lockOutput(o, me)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{checkNotHeld(o), func() error { _, err := lockOutput(o, holder{Job: "j2"}); return err }()} {
		if !errors.Is(err, ErrOutputBusy) || !strings.Contains(err.Error(), "in use by job j1 (pid ") {
			t.Fatalf("second job: err = %v, want ErrOutputBusy naming j1", err)
		}
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.lock()); !os.IsNotExist(err) {
		t.Fatalf("release left the lock file (err %v)", err)
	}
	// A holder that died: its file stays, unlocked, naming it.
	writeFile(t, o.lock(), `{"job":"jdead","pid":1,"host":"elsewhere"}`)
	l, err = lockOutput(o, holder{Job: "j3", PID: os.Getpid(), Host: hostname()})
	if err != nil {
		t.Fatalf("a dead holder's file blocks the next job: %v", err)
	}
	if err := checkNotHeld(o); err == nil || !strings.Contains(err.Error(), "job j3") {
		t.Fatalf("the lock file was not taken over: %v", err)
	}
	l.release()
}

// stageJob stages a fake job's output of n parts as the runner would.
func stageJob(t *testing.T, o outPaths, job string, n int, overwrite bool) (*staging, []tracker.Committed) {
	t.Helper()
	s, err := newStaging(o, job, overwrite)
	if err != nil {
		t.Fatal(err)
	}
	var outs []tracker.Committed
	for i := range n {
		ref := tracker.TaskRef{Phase: spec.PhaseReduce, Index: i}
		for attempt := range 2 { // a backup attempt that lost: never published
			body := fmt.Sprintf("%s\t%d\n", job, i*10+attempt)
			writeFile(t, filepath.Join(s.attemptDir(ref.ID(), attempt), spec.PartName(i)), body)
			s.fetchedPart(ref.ID(), attempt, ManifestPart{Name: spec.PartName(i), Size: int64(len(body)),
				CRC32C: crc32.Checksum([]byte(body), castagnoli)})
		}
		outs = append(outs, tracker.Committed{Task: ref, Attempt: 1})
	}
	return s, outs
}

// snapshot is a directory's files and their contents ("" when missing).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = string(b)
		return nil
	})
	return m
}

// checkComplete checks that dir holds job's n parts and a manifest naming
// exactly them, with their sizes and checksums.
func checkComplete(t *testing.T, dir, job string, n int) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Job != job || len(m.Parts) != n || !sort.SliceIsSorted(m.Parts, func(i, k int) bool { return m.Parts[i].Name < m.Parts[k].Name }) {
		t.Fatalf("manifest %+v, want job %s and %d sorted parts", m, job, n)
	}
	files := snapshot(t, dir)
	if len(files) != n+1 {
		t.Fatalf("%s holds %d files, want %d parts and %s", dir, len(files), n, SuccessFile)
	}
	for i, p := range m.Parts {
		b := files[p.Name]
		if p.Name != spec.PartName(i) || b != fmt.Sprintf("%s\t%d\n", job, i*10+1) ||
			p.Size != int64(len(b)) || p.CRC32C != crc32.Checksum([]byte(b), castagnoli) {
			t.Fatalf("part %+v holds %q", p, b)
		}
	}
}

var errCrash = errors.New("crashed")

// TestCommitCrashAnywhere stops a commit after each of its steps, as a
// SIGKILL would, and checks that the output directory is either as it was
// or complete, and that the next job on it commits.
func TestCommitCrashAnywhere(t *testing.T) {
	const parts = 3
	steps := []string{"part", "part", "part", "parts", "manifest", "sync", "publish"}
	for _, before := range []string{"missing", "empty", "leftovers", "finished"} {
		for crash := range steps {
			t.Run(fmt.Sprintf("%s/%d-%s", before, crash, steps[crash]), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "out")
				switch before {
				case "empty":
					os.Mkdir(dir, 0o700)
				case "leftovers":
					writeFile(t, filepath.Join(dir, "part-00007"), "old\n")
				case "finished":
					writeFile(t, filepath.Join(dir, "part-00000"), "old\n")
					writeFile(t, filepath.Join(dir, SuccessFile), `{"job":"jold","parts":[]}`)
				}
				was := snapshot(t, dir)
				o := outPathsT(t, dir)
				s, outs := stageJob(t, o, "j20260101-000000-0000000a", parts, true)
				n := 0
				s.step = func(string) error {
					if n++; n > crash {
						return errCrash
					}
					return nil
				}
				if err := s.commit(outs); !errors.Is(err, errCrash) {
					t.Fatalf("commit: %v", err)
				}
				if steps[crash] == "publish" {
					checkComplete(t, dir, s.job, parts)
				} else if now := snapshot(t, dir); fmt.Sprint(now) != fmt.Sprint(was) {
					t.Fatalf("a commit that died before publishing changed %s: %v, was %v", dir, now, was)
				}
				// The next job (after its lock) removes the dead one's staging and commits.
				next, outs := stageJob(t, o, "j20260101-000001-0000000b", parts, true)
				if err := next.commit(outs); err != nil {
					t.Fatal(err)
				}
				checkComplete(t, dir, next.job, parts)
				if st, _ := os.Stat(dir); before == "empty" && st.Mode().Perm() != 0o700 {
					t.Errorf("%s lost its mode: %v", dir, st.Mode())
				}
				if left, _ := filepath.Glob(filepath.Join(o.parent, ".out.dist-*")); len(left) > 0 {
					t.Fatalf("left beside the output: %v", left)
				}
			})
		}
	}
}

func TestAbortLeavesOutputAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	writeFile(t, filepath.Join(dir, "part-00000"), "old\n")
	writeFile(t, filepath.Join(dir, SuccessFile), "")
	was := snapshot(t, dir)
	s, _ := stageJob(t, outPathsT(t, dir), "j20260101-000000-0000000a", 2, true)
	s.abort()
	if now := snapshot(t, dir); fmt.Sprint(now) != fmt.Sprint(was) {
		t.Fatalf("abort changed the output: %v", now)
	}
	if _, err := os.Stat(s.path); !os.IsNotExist(err) {
		t.Fatalf("abort left the staging directory (err %v)", err)
	}
}

func TestSwapByRenames(t *testing.T) {
	root := t.TempDir()
	staged, dir := filepath.Join(root, "new"), filepath.Join(root, "out")
	writeFile(t, filepath.Join(staged, "part-00000"), "new\n")
	writeFile(t, filepath.Join(dir, "part-00000"), "old\n")
	if err := swapByRenames(staged, dir); err != nil {
		t.Fatal(err)
	}
	if a, b := snapshot(t, dir)["part-00000"], snapshot(t, staged)["part-00000"]; a != "new\n" || b != "old\n" {
		t.Fatalf("after the swap: out has %q, staged has %q", a, b)
	}
}

// A file someone drops into DIR while the job runs is not deleted with
// DIR's old contents: it stays beside DIR, in a directory named for the job.
func TestCommitKeepsLateForeignFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	writeFile(t, filepath.Join(dir, "part-00000"), "old\n")
	o := outPathsT(t, dir)
	s, outs := stageJob(t, o, "j20260101-000000-0000000a", 2, false)
	writeFile(t, filepath.Join(dir, "notes.txt"), "mine")
	if err := s.commit(outs); err != nil {
		t.Fatal(err)
	}
	checkComplete(t, dir, s.job, 2)
	if b, err := os.ReadFile(filepath.Join(s.path, "notes.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("the late file was lost: %q, %v", b, err)
	}
	next, outs := stageJob(t, o, "j20260101-000001-0000000b", 2, true)
	if err := next.commit(outs); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.path, "notes.txt")); err != nil {
		t.Fatalf("the next job removed the late file: %v", err)
	}
}

// Jobs that take and release one output's lock in a tight race never hold
// it together: a lock taken on a file its holder unlinked is retried.
func TestLockOutputExclusive(t *testing.T) {
	o := outPathsT(t, filepath.Join(t.TempDir(), "out"))
	var holders atomic.Int32
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				l, err := lockOutput(o, holder{Job: fmt.Sprint("j", g), PID: os.Getpid(), Host: hostname()})
				if errors.Is(err, ErrOutputBusy) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d jobs hold the output at once", n)
				}
				holders.Add(-1)
				if err := l.release(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkRemoveStale is a job's look for stale staging directories in
// an output's parent holding 1,000 other entries (a home directory, a
// shared results directory).
func BenchmarkRemoveStale(b *testing.B) {
	parent := b.TempDir()
	for i := range 1000 {
		if err := os.WriteFile(filepath.Join(parent, fmt.Sprintf("file-%d", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	o, err := newOutPaths(filepath.Join(parent, "out"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := removeStale(o); err != nil {
			b.Fatal(err)
		}
	}
}
