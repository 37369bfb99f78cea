package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/registry"
)

// TestHostedMasterCarriesOn runs a job as a job master runs it (`dist run
// --hosted`, as a worker's master host starts it), SIGKILLs that master
// while an attempt is held at a gate, and starts another master on the
// same job: it carries the job on from the journal, runs only what was
// not committed, and commits the exact counts. Once mid-map, once
// mid-reduce.
func TestHostedMasterCarriesOn(t *testing.T) {
	t.Parallel()
	_, mc, bin := s3Store(t, "books", "out")
	books := env.Corpus(t)
	putFiles(t, mc, "books", "", books)
	zk, _ := zkClusterBin(t, 2, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg, err := registry.NewZK(ctx, zk.Addr(), registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	app := gateApp(t)

	for _, tc := range []struct {
		name, gate, held string
		ready            func(journal map[string][]byte) bool // before the master is killed
	}{
		{name: "mid-map", gate: "^m-00005/", held: "m-00005", ready: func(j map[string][]byte) bool { return len(j) >= 5 }},
		{name: "mid-reduce", gate: "^r-00000/", held: "r-00000", ready: func(j map[string][]byte) bool { return j["r-00001"] != nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "j20261201-000000-0000000" + strconv.Itoa(len(tc.name)%10)
			if err := reg.CreateJob(ctx, registry.JobRecord{ID: id, User: "test", App: "gate", State: registry.JobSubmitted, Submitted: time.Now()}, nil); err != nil {
				t.Fatal(err)
			}
			gates := t.TempDir()
			args := []string{"run", "--hosted", "--job-id", id, "--zk", zk.Addr(), "--app", app,
				"--input", "s3://books/*.txt", "--output", "s3://out/" + tc.name, "--reduces", "2", "--split-size", "262144",
				"--param", "gate=" + tc.gate, "--param", "gate_dir=" + gates}

			// The first master: killed once the held attempt waits and
			// the journal holds what it committed before.
			first := exec.Command(bin, args...)
			var firstErr bytes.Buffer
			first.Stderr = &firstErr
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = first.Process.Kill(); _ = first.Wait() })
			waitFor(t, 2*time.Minute, tc.held+" at its gate", func() bool { return len(atGate(gates, tc.held)) > 0 })
			var journal map[string][]byte
			waitFor(t, time.Minute, "the journal", func() bool {
				journal, _ = reg.JobJournal(ctx, id)
				return tc.ready(journal)
			})
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()
			rec, err := reg.Job(ctx, id)
			if err != nil || rec.State != registry.JobRunning || rec.Progress.Maps == 0 {
				t.Fatalf("record after the first master died: %+v, %v", rec, err)
			}
			if _, err := getObject(t, mc, "out", tc.name+"/_SUCCESS"); err == nil {
				t.Fatal("_SUCCESS written by a master killed mid-job")
			}

			// The second master carries on.
			openGate(t, gates, "open")
			r := mustRunBin(t, bin, args...)
			checkWordCounts(t, readS3Output(t, mc, "out", tc.name), books)
			if n := incompleteUploads(t, mc, "out", tc.name+"/"); n != 0 {
				t.Errorf("%d incomplete uploads left", n)
			}
			m := regexp.MustCompile(`maps (\d+), reduces (\d+), workers \d+, attempts (\d+) \(failed \d+, backups \d+, killed \d+, map re-runs (\d+)\)`).FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("no summary:\n%s", r.stdout)
			}
			maps, _ := strconv.Atoi(m[1])
			attempts, _ := strconv.Atoi(m[3])
			if redone := maps + 2 - len(journal); attempts > redone+2 || m[4] != "0" {
				t.Errorf("the second master ran %d attempts (map re-runs %s); the journal had %d of %d tasks:\n%s",
					attempts, m[4], len(journal), maps+2, r.stdout)
			}
			t.Logf("%s: journal had %d of %d tasks; the second master ran %d attempts", tc.name, len(journal), maps+2, attempts)
			rec, err = reg.Job(ctx, id)
			if err != nil || rec.State != registry.JobSucceeded || len(rec.Summary) == 0 || !strings.Contains(rec.Summary[0], id) || rec.Ended.IsZero() {
				t.Fatalf("record after the job: %+v, %v", rec, err)
			}
		})
	}
}
