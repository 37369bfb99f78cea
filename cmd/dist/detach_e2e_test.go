package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/internal/testsupport/zktest"
	"github.com/distmr/dist/registry"
)

// TestDetachedJobs is issue 14's "done when", with three ZooKeeper workers
// hosting job masters and the local S3 store: a job submitted with
// --detach returns at once; its master's worker is SIGKILLed while a
// reduce is held, another worker's master takes the job over, and dist
// wait exits 0 with the exact counts in S3; the master serves the live
// page; a second job is killed with dist kill and leaves no _SUCCESS and
// no upload; dist jobs --json lists both as they ended.
func TestDetachedJobs(t *testing.T) {
	t.Parallel()
	_, mc, bin := s3Store(t, "books", "out")
	books := env.Corpus(t)
	putFiles(t, mc, "books", "", books)
	zk := zktest.Start(t)
	var ws []*testenv.Worker
	for range 3 {
		ws = append(ws, testenv.StartWorker(t, bin, "--zk", zk.Addr(), "--slots", "2", "--zk-session-timeout", "3s"))
	}
	waitWorkers(t, zk.Addr(), func(got []registry.WorkerInfo) bool { return len(got) == 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	reg, err := registry.NewZK(ctx, zk.Addr(), registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	app, gates := gateApp(t), t.TempDir()
	submit := func(out, gate string) string {
		t.Helper()
		start := time.Now()
		r := mustRunBin(t, bin, "run", "--detach", "--quiet", "--zk", zk.Addr(), "--app", app, "--input", "s3://books/*.txt",
			"--output", "s3://out/"+out, "--reduces", "2", "--split-size", "262144",
			"--param", "gate="+gate, "--param", "gate_dir="+gates)
		id := strings.TrimSpace(r.stdout)
		t.Logf("dist run --detach returned %s in %v", id, time.Since(start).Round(time.Millisecond))
		return id
	}
	record := func(id string) registry.JobRecord {
		t.Helper()
		rec, err := reg.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}

	defer func() {
		if t.Failed() {
			for _, w := range ws {
				logs, _ := filepath.Glob(filepath.Join(w.Dir, "masters", "*", "master.log"))
				for _, l := range logs {
					b, _ := os.ReadFile(l)
					t.Logf("%s:\n%s", l, b)
				}
				t.Logf("worker %s log:\n%s", w.ID, w.Logs())
			}
			recs, err := reg.Jobs(context.Background())
			t.Logf("job records: %+v %v", recs, err)
		}
	}()

	// A job whose master dies with its worker while r-00000 is held.
	id := submit("wc", "^r-00000/")
	waitFor(t, 40*time.Second, "r-00000 at its gate", func() bool { return len(atGate(gates, "r-00000")) > 0 })
	rec := record(id)
	if rec.State != registry.JobRunning || rec.UI == "" || rec.MasterID == "" {
		t.Fatalf("record of the running job: %+v", rec)
	}
	page := httpGet(t, rec.UI)
	if !strings.Contains(page, `<span class="status running">running</span>`) || !strings.Contains(page, id) {
		t.Fatalf("the master's live page at %s does not show the job running:\n%.400s", rec.UI, page)
	}
	dom := testenv.Chromium(t).DOMURL(t, rec.UI)
	if m := regexp.MustCompile(`data-bars="(\d+)" data-bars-drawn="(\d+)"`).FindStringSubmatch(dom); m == nil || m[1] == "0" || m[1] != m[2] {
		t.Fatalf("Chromium did not draw every bar of the master's live page (%v):\n%.2000s", m, dom)
	}
	var victim *testenv.Worker
	for _, w := range ws {
		if w.ID == rec.MasterID {
			victim = w
		}
	}
	if victim == nil {
		t.Fatalf("no worker %s", rec.MasterID)
	}
	killed := time.Now()
	victim.Kill(syscall.SIGKILL)
	waitFor(t, time.Minute, "another master", func() bool {
		r := record(id)
		return r.Takeovers == 1 && r.MasterID != victim.ID && r.UI != ""
	})
	t.Logf("master taken over %v after its worker was killed (ZooKeeper session timeout 3s)", time.Since(killed).Round(time.Millisecond))
	openGate(t, gates, "r-00000.open")
	r := mustRun(t, "wait", "--zk", zk.Addr(), id)
	if !strings.Contains(r.stdout, "job "+id+" succeeded") {
		t.Fatalf("dist wait printed no summary:\n%s", r.stdout)
	}
	t.Logf("dist wait, after the takeover:\n%s", r.stdout)
	checkWordCounts(t, readS3Output(t, mc, "out", "wc"), books)
	if n := incompleteUploads(t, mc, "out", "wc/"); n != 0 {
		t.Errorf("%d incomplete uploads left under s3://out/wc/", n)
	}

	// A job killed while m-00002 is held: nothing committed.
	id2 := submit("killed", "^m-00002/")
	waitFor(t, 2*time.Minute, "m-00002 at its gate", func() bool { return len(atGate(gates, "m-00002")) > 0 })
	mustRun(t, "kill", "--zk", zk.Addr(), id2)
	if rec := record(id2); rec.State != registry.JobKilled {
		t.Fatalf("record after dist kill: %+v", rec)
	}
	if r := dist(t, "wait", "--zk", zk.Addr(), id2); r.code != 1 {
		t.Errorf("dist wait on a killed job exited %d, want 1:\n%s", r.code, r.stderr)
	}
	if _, err := getObject(t, mc, "out", "killed/_SUCCESS"); err == nil {
		t.Error("a killed job wrote _SUCCESS")
	}
	if n := incompleteUploads(t, mc, "out", "killed/"); n != 0 {
		t.Errorf("%d uploads left by a killed job", n)
	}

	// Both, as they ended.
	var listed []struct {
		ID, State string
		Takeovers int
		Counters  map[string]int64
	}
	r = mustRun(t, "jobs", "--zk", zk.Addr(), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil {
		t.Fatalf("dist jobs --json: %v\n%s", err, r.stdout)
	}
	states := map[string]string{}
	for _, j := range listed {
		states[j.ID] = j.State
		if j.ID == id && (j.Takeovers != 1 || j.Counters["map.input.records"] == 0) {
			t.Errorf("dist jobs --json: %s has takeovers %d, counters %v", id, j.Takeovers, j.Counters)
		}
	}
	if states[id] != "succeeded" || states[id2] != "killed" {
		t.Errorf("dist jobs --json: %v\n%s", states, r.stdout)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
