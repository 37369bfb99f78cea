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

	"github.com/minio/minio-go/v7"

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

// hostedGated is a submitted job of the gate app over the books in S3,
// whose record names worker wa as its master, and the arguments its
// masters run with: r-00000 waits at its gate.
type hostedGated struct {
	ctx        context.Context
	mc         *minio.Client
	reg        *registry.ZK
	books      []string
	bin, id    string
	gates, out string // out: the output's prefix in bucket out
	args       []string
}

func newHostedGated(t *testing.T, id, out string) *hostedGated {
	_, mc, bin := s3Store(t, "books", "out")
	books := env.Corpus(t)
	putFiles(t, mc, "books", "", books)
	zk, _ := zkClusterBin(t, 2, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	reg, err := registry.NewZK(ctx, zk.Addr(), registry.ZKOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if err := reg.CreateJob(ctx, registry.JobRecord{ID: id, User: "test", App: "gate", State: registry.JobSubmitted,
		Master: "127.0.0.1:1", MasterID: "wa", Submitted: time.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	h := &hostedGated{ctx: ctx, mc: mc, reg: reg, books: books, bin: bin, id: id, gates: t.TempDir(), out: out}
	h.args = []string{"run", "--hosted", "--job-id", id, "--zk", zk.Addr(), "--app", gateApp(t),
		"--input", "s3://books/*.txt", "--output", "s3://out/" + out, "--reduces", "2",
		"--param", "gate=^r-00000/", "--param", "gate_dir=" + h.gates}
	return h
}

// takeOver names worker wb the job's master, as its host does before it
// starts its master; kill also records dist kill.
func (h *hostedGated) takeOver(t *testing.T, kill bool) {
	if _, err := h.reg.UpdateJob(h.ctx, h.id, func(r *registry.JobRecord) error {
		r.Master, r.MasterID = "127.0.0.1:2", "wb"
		r.Takeovers++
		r.KillRequested = r.KillRequested || kill
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// hostedMaster is a master process started by a test.
type hostedMaster struct {
	cmd         *exec.Cmd
	out, stderr bytes.Buffer
	done        chan error // its Wait's result, put back by whoever reads it
}

// startMaster starts a master of h's job; the test's end kills it, and
// shows its stderr if the test failed.
func (h *hostedGated) startMaster(t *testing.T, name string) *hostedMaster {
	m := &hostedMaster{cmd: exec.Command(h.bin, h.args...), done: make(chan error, 1)}
	m.cmd.Stdout, m.cmd.Stderr = &m.out, &m.stderr
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		<-m.done
		if t.Failed() {
			t.Logf("%s master:\n%s", name, m.stderr.String())
		}
	})
	return m
}

// waitRunning waits up to 2 minutes for cond, and fails the test if m
// exits first.
func (m *hostedMaster) waitRunning(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, 2*time.Minute, what, func() bool {
		select {
		case err := <-m.done:
			m.done <- err
			t.Fatalf("the master ended before its job: %v", err)
		default:
		}
		return cond()
	})
}

// TestHostedMasterDeposed runs a job's master, then takes the job over as
// a standby would (the record names another master, which starts) while
// the first one still runs: a master cut off with its worker, which its
// host cannot kill yet. The first finds the output lock taken and fails;
// it must not write that failure into the record of the job the second
// master carries on, which then succeeds.
func TestHostedMasterDeposed(t *testing.T) {
	t.Parallel()
	h := newHostedGated(t, "j20261201-000000-0000dead", "deposed")
	first := h.startMaster(t, "first")
	first.waitRunning(t, "r-00000 of the first master at its gate", func() bool { return len(atGate(h.gates, "r-00000-0")) > 0 })

	// The takeover: the standby's host names itself in the record, then
	// starts its master.
	h.takeOver(t, false)
	second := h.startMaster(t, "second")
	waitFor(t, 2*time.Minute, "r-00000 of the second master at its gate", func() bool { return len(atGate(h.gates, "r-00000-1000")) > 0 })

	// The first master finds its output lock taken (at its next renewal)
	// and fails; the job goes on under the second.
	select {
	case err := <-first.done:
		first.done <- err
		if err == nil {
			t.Fatalf("the deposed master succeeded:\n%s", first.stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the deposed master still runs a minute after the takeover:\n%s", first.stderr.String())
	}
	rec, err := h.reg.Job(h.ctx, h.id)
	if err != nil || rec.State != registry.JobRunning || rec.MasterID != "wb" {
		t.Fatalf("record after the deposed master failed (the second still runs the job): state %s, master %s, error %q (%v)",
			rec.State, rec.MasterID, rec.Error, err)
	}

	openGate(t, h.gates, "open")
	select {
	case err := <-second.done:
		second.done <- err
		if err != nil {
			t.Fatalf("the second master: %v", err)
		}
	case <-h.ctx.Done():
		t.Fatal("the second master did not end")
	}
	checkWordCounts(t, readS3Output(t, h.mc, "out", h.out), h.books)
	rec, err = h.reg.Job(h.ctx, h.id)
	if err != nil || rec.State != registry.JobSucceeded || rec.Takeovers != 1 {
		t.Fatalf("record after the job: state %s, error %q, takeovers %d (%v)", rec.State, rec.Error, rec.Takeovers, err)
	}
}

// TestHostedMasterKilledWhileDown: dist kill is recorded while the job's
// master is dead (its worker died before it could act on it). The master
// that takes the job over runs nothing and commits nothing, and clears
// what the dead one left under the output: the uploads of its attempts
// and its lock, which would hold the output until the lease ran out.
func TestHostedMasterKilledWhileDown(t *testing.T) {
	t.Parallel()
	h := newHostedGated(t, "j20261201-000000-0000c111", "killed")
	first := h.startMaster(t, "first")
	first.waitRunning(t, "r-00000 at its gate and r-00001 journaled", func() bool {
		journal, _ := h.reg.JobJournal(h.ctx, h.id)
		return len(atGate(h.gates, "r-00000")) > 0 && journal["r-00001"] != nil
	})
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done
	first.done <- nil
	if n := incompleteUploads(t, h.mc, "out", h.out+"/"); n == 0 {
		t.Fatal("the dead master left no upload: the test proves nothing")
	}
	if _, err := getObject(t, h.mc, "out", h.out+"/_dist-lock"); err != nil {
		t.Fatalf("the dead master left no lock: the test proves nothing (%v)", err)
	}

	// The kill is recorded while no master runs; then a standby takes
	// the job over.
	h.takeOver(t, true)
	openGate(t, h.gates, "open")
	r := distBin(t, h.bin, h.args...)
	if r.code != exitJobFailed || !strings.Contains(r.stderr, "killed") {
		t.Fatalf("the second master: exit %d, want %d and the kill named:\n%s", r.code, exitJobFailed, r.stderr)
	}
	rec, err := h.reg.Job(h.ctx, h.id)
	if err != nil || rec.State != registry.JobKilled || rec.Progress.Maps == 0 {
		t.Fatalf("record: state %s, error %q, progress %+v (%v); want killed with the first master's progress", rec.State, rec.Error, rec.Progress, err)
	}
	if n := incompleteUploads(t, h.mc, "out", h.out+"/"); n != 0 {
		t.Errorf("%d uploads left under the output", n)
	}
	for obj := range h.mc.ListObjects(h.ctx, "out", minio.ListObjectsOptions{Prefix: h.out + "/", Recursive: true}) {
		t.Errorf("left under the output: %s %v", obj.Key, obj.Err)
	}
}
