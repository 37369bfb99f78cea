package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/distmr/dist/internal/testsupport/s3test"
	"github.com/distmr/dist/internal/testsupport/testenv"
)

// Where data lives (DESIGN.md): S3 inputs and outputs, local files read
// in place, worker: inputs. Every job's output is compared with the word
// count computed here, and every summary's client data bytes with what
// the client must have carried.

// s3Store starts a real store and makes the buckets. It returns, besides,
// a dist to run that is pointed at the store, and so is every worker and
// task it starts (withEnv: the test's own environment stays as it was, so
// it can run in parallel with others).
func s3Store(t *testing.T, buckets ...string) (*s3test.Server, *minio.Client, string) {
	t.Helper()
	srv := s3test.Start(t)
	mc := srv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, b := range buckets {
		if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatalf("make bucket %s: %v", b, err)
		}
	}
	return srv, mc, withEnv(t, srv.Env()...)
}

// putFiles uploads files to bucket under prefix, by base name.
func putFiles(t *testing.T, mc *minio.Client, bucket, prefix string, files []string) {
	t.Helper()
	for _, f := range files {
		if _, err := mc.FPutObject(context.Background(), bucket, prefix+filepath.Base(f), f, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("upload %s: %v", f, err)
		}
	}
}

func putObject(t *testing.T, mc *minio.Client, bucket, key string, data []byte) {
	t.Helper()
	if _, err := mc.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func getObject(t *testing.T, mc *minio.Client, bucket, key string) ([]byte, error) {
	t.Helper()
	o, err := mc.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// readS3Output downloads the parts an S3 output's manifest lists into a
// directory, checking each part's size, and returns the directory.
func readS3Output(t *testing.T, mc *minio.Client, bucket, prefix string) string {
	t.Helper()
	b, err := getObject(t, mc, bucket, prefix+"/_SUCCESS")
	if err != nil {
		t.Fatalf("s3://%s/%s has no _SUCCESS: %v", bucket, prefix, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("_SUCCESS: %v\n%s", err, b)
	}
	dir := t.TempDir()
	for _, p := range m.Parts {
		if p.Name == nil {
			t.Fatalf("_SUCCESS lists a part without a name:\n%s", b)
		}
		data, err := getObject(t, mc, bucket, prefix+"/"+*p.Name)
		if p.Name == nil || p.Size == nil || err != nil || int64(len(data)) != *p.Size {
			t.Fatalf("part %+v: %d bytes (%v), not what the manifest says", p, len(data), err)
		}
		if err := os.WriteFile(filepath.Join(dir, *p.Name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// incompleteUploads counts the multipart uploads left under prefix.
func incompleteUploads(t *testing.T, mc *minio.Client, bucket, prefix string) int {
	t.Helper()
	n := 0
	for u := range mc.ListIncompleteUploads(context.Background(), bucket, prefix, true) {
		if u.Err != nil {
			t.Fatalf("list uploads: %v", u.Err)
		}
		n++
	}
	return n
}

// clientData returns the summary's client data bytes.
func clientData(t *testing.T, stdout string) (in, out int64) {
	t.Helper()
	m := regexp.MustCompile(`client data bytes: in (\d+), out (\d+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("the summary does not say what the client carried:\n%s", stdout)
	}
	in, _ = strconv.ParseInt(m[1], 10, 64)
	out, _ = strconv.ParseInt(m[2], 10, 64)
	return in, out
}

// The "done when": the books on S3, word count to S3, on --local
// and on ZooKeeper workers, the same answer as the sequential count, and
// the client carries nothing.
func TestS3WordCount(t *testing.T) {
	t.Parallel()
	_, mc, d := s3Store(t, "books", "out")
	books := env.Corpus(t)
	putFiles(t, mc, "books", "", books)
	wc := env.App(t, "wordcount")

	t.Run("local", func(t *testing.T) {
		r := mustRunBin(t, d, "run", "--local", "3", "--app", wc, "--input", "s3://books/*.txt",
			"--output", "s3://out/wc", "--reduces", "4", "--split-size", "262144")
		checkWordCounts(t, readS3Output(t, mc, "out", "wc"), books)
		if in, out := clientData(t, r.stdout); in != 0 || out != 0 {
			t.Errorf("client data bytes: in %d, out %d; want 0 and 0 for S3 in and out:\n%s", in, out, r.stdout)
		}
		if n := incompleteUploads(t, mc, "out", "wc/"); n != 0 {
			t.Errorf("%d incomplete uploads left under s3://out/wc/", n)
		}
		// A finished output is not replaced without --overwrite; with
		// it, the new output replaces the old whole (fewer parts).
		r = distBin(t, d, "run", "--local", "2", "--app", wc, "--input", "s3://books/*.txt", "--output", "s3://out/wc", "--reduces", "2")
		if r.code == 0 || !strings.Contains(r.stderr, "--overwrite") {
			t.Fatalf("a second job over a finished S3 output: exit %d\n%s", r.code, r.stderr)
		}
		mustRunBin(t, d, "run", "--local", "2", "--app", wc, "--input", "s3://books/*.txt", "--output", "s3://out/wc", "--reduces", "2", "--overwrite")
		dir := readS3Output(t, mc, "out", "wc")
		checkWordCounts(t, dir, books)
		for _, p := range []string{"part-00002", "part-00003"} {
			if _, err := getObject(t, mc, "out", "wc/"+p); err == nil {
				t.Errorf("the old %s is still under s3://out/wc after --overwrite with 2 reduces", p)
			}
		}
	})
	t.Run("mixed with local input, local output", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		r := mustRunBin(t, d, "run", "--local", "2", "--app", wc, "--input", "s3://books/*.txt", "--input", books[0],
			"--output", out, "--reduces", "3")
		checkWordCounts(t, out, append(append([]string{}, books...), books[0]))
		if in, o := clientData(t, r.stdout); in != 0 || o != 0 {
			t.Errorf("client data bytes: in %d, out %d; want 0 and 0 on --local:\n%s", in, o, r.stdout)
		}
	})
	t.Run("map-only to S3", func(t *testing.T) {
		// Maps write their parts the same way: uploads the commit
		// completes, one per map. grep names each match by object and
		// byte offset, which the line rule must get right at every
		// split edge.
		mustRunBin(t, d, "run", "--local", "2", "--app", env.App(t, "grep"), "--input", "s3://books/*.txt", "--output", "s3://out/grep",
			"--reduces", "0", "--split-size", "65536", "--param", "pattern=[Ww]hale|Holmes")
		re := regexp.MustCompile("[Ww]hale|Holmes")
		want := map[string]string{}
		testenv.Lines(t, books, func(file string, off int64, line string) {
			if re.MatchString(line) {
				want[fmt.Sprintf("s3://books/%s:%d", filepath.Base(file), off)] = line
			}
		})
		got := testenv.ReadOutput(t, readS3Output(t, mc, "out", "grep"))
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%d matches, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("match %s = %q, want %q", k, got[k], v)
			}
		}
	})
	t.Run("zookeeper workers", func(t *testing.T) {
		zk, _ := zkClusterBin(t, 3, d)
		r := mustRunBin(t, d, "run", "--zk", zk.Addr(), "--app", wc, "--input", "s3://books/", "--output", "s3://out/zk", "--reduces", "4")
		checkWordCounts(t, readS3Output(t, mc, "out", "zk"), books)
		if in, out := clientData(t, r.stdout); in != 0 || out != 0 {
			t.Errorf("client data bytes: in %d, out %d; want 0 and 0:\n%s", in, out, r.stdout)
		}
	})
}

// S3 failures each end the job with one line naming the cause, exit
// status not 0, no _SUCCESS, and never a credential in what dist prints.
func TestS3Faults(t *testing.T) {
	t.Parallel()
	srv, mc, d := s3Store(t, "inp", "out")
	books := env.Corpus(t)
	putFiles(t, mc, "inp", "", books[:2])
	wc := env.App(t, "wordcount")
	secret := s3test.SecretKey
	check := func(t *testing.T, r result, want ...string) {
		t.Helper()
		if r.code == 0 {
			t.Fatalf("exit 0, want a failure:\n%s", r.stdout)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
			}
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("the secret key appears in what dist printed")
		}
	}
	t.Run("missing bucket in", func(t *testing.T) {
		r := distBin(t, d, "run", "--local", "1", "--app", wc, "--input", "s3://nobucket/*.txt", "--output", filepath.Join(t.TempDir(), "o"))
		check(t, r, "nobucket", "does not exist")
	})
	t.Run("missing bucket out", func(t *testing.T) {
		r := distBin(t, d, "run", "--local", "1", "--app", wc, "--input", "s3://inp/*.txt", "--output", "s3://nobucket/o")
		check(t, r, "nobucket", "does not exist")
	})
	t.Run("no match", func(t *testing.T) {
		r := distBin(t, d, "run", "--local", "1", "--app", wc, "--input", "s3://inp/*.log", "--output", "s3://out/nm")
		check(t, r, "s3://inp/*.log")
	})
	t.Run("wrong credentials", func(t *testing.T) {
		wrong := withEnv(t, append(srv.Env(), "AWS_SECRET_ACCESS_KEY=not-the-secret")...)
		start := time.Now()
		r := distBin(t, wrong, "run", "--local", "1", "--app", wc, "--input", "s3://inp/*.txt", "--output", "s3://out/wrong")
		check(t, r, "credentials", "AWS_SECRET_ACCESS_KEY")
		if strings.Count(r.stderr, "\n") > 3 {
			t.Errorf("want one clear line, got:\n%s", r.stderr)
		}
		t.Logf("refused in %v", time.Since(start))
	})
	t.Run("worker with wrong credentials", func(t *testing.T) {
		// The client lists with its own credentials; the worker reads
		// with its own, which the store refuses: no attempt gets past
		// that, so the job fails at once, not after four attempts.
		w := testenv.StartWorker(t, withEnv(t, append(srv.Env(), "AWS_SECRET_ACCESS_KEY=not-the-secret")...), "--slots", "2")
		r := distBin(t, d, "run", "--workers", w.Addr, "--app", wc, "--input", "s3://inp/*.txt", "--output", filepath.Join(t.TempDir(), "o"))
		check(t, r, "credentials", "AWS_SECRET_ACCESS_KEY")
		if n := strings.Count(r.stderr, "attempt"); n > 4 {
			t.Errorf("the refusal was retried (%d attempt lines):\n%s", n, r.stderr)
		}
	})
	t.Run("credentials never printed", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "report.html")
		r := mustRunBin(t, d, "run", "--local", "2", "--app", wc, "--input", "s3://inp/*.txt", "--output", "s3://out/creds",
			"--reduces", "2", "--report", report, "--log-level", "debug")
		html, err := os.ReadFile(report)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{secret, s3test.AccessKey} {
			if strings.Contains(r.stdout+r.stderr+string(html), c) {
				t.Errorf("a credential appears in dist's output or report")
			}
		}
	})
	t.Run("endpoint down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + l.Addr().String()
		l.Close()
		r := distBin(t, withEnv(t, append(srv.Env(), "AWS_ENDPOINT_URL="+down)...), "run", "--local", "1", "--app", wc, "--input", "s3://inp/*.txt", "--output", "s3://out/down")
		check(t, r, down, "unreachable")
	})
	t.Run("object changed mid-job", func(t *testing.T) {
		// One worker, one slot: map 0 is held at its gate while object
		// 1, listed already, is replaced; map 1 must refuse it.
		// --split-size 11 keeps the objects from being packed into one
		// map, which would copy b before the change.
		gates := t.TempDir()
		putObject(t, mc, "inp", "ch/a.txt", []byte("alpha beta\n"))
		putObject(t, mc, "inp", "ch/b.txt", []byte("gamma delta\n"))
		b := startDistBin(t, d, "run", "--local", "1", "--local-slots", "1", "--app", gateApp(t), "--input", "s3://inp/ch/",
			"--output", "s3://out/changed", "--reduces", "1", "--speculative=false", "--split-size", "11",
			"--param", "gate=^m-00000/0$", "--param", "gate_dir="+gates)
		waitFor(t, time.Minute, "m-00000 at its gate", func() bool { return len(atGate(gates, "m-00000-0")) == 1 })
		putObject(t, mc, "inp", "ch/b.txt", []byte("gamma delta epsilon\n"))
		openGate(t, gates, "open")
		r := b.wait(t)
		check(t, r, "s3://inp/ch/b.txt", "changed")
		if _, err := getObject(t, mc, "out", "changed/_SUCCESS"); err == nil {
			t.Errorf("a job whose input changed wrote _SUCCESS")
		}
		if n := incompleteUploads(t, mc, "out", "changed/"); n != 0 {
			t.Errorf("%d incomplete uploads left by the failed job", n)
		}
	})
	t.Run("client killed mid-upload", func(t *testing.T) {
		// Hold the reduce's second attempt... simpler: hold every reduce
		// after the first has uploaded, kill the client, then check the
		// next job on the output cleans up and commits exactly.
		gates := t.TempDir()
		b := startDistBin(t, d, "run", "--local", "2", "--app", gateApp(t), "--input", "s3://inp/*.txt",
			"--output", "s3://out/killed", "--reduces", "3", "--speculative=false",
			"--param", "gate=^r-0000[12]/", "--param", "gate_dir="+gates)
		waitFor(t, 2*time.Minute, "a reduce's upload", func() bool { return incompleteUploads(t, mc, "out", "killed/") > 0 })
		_ = b.cmd.Process.Kill()
		b.wait(t)
		if _, err := getObject(t, mc, "out", "killed/_SUCCESS"); err == nil {
			t.Fatalf("a killed job wrote _SUCCESS")
		}
		if _, err := getObject(t, mc, "out", "killed/part-00000"); err == nil {
			t.Errorf("a killed job's part is visible")
		}
		r := mustRunBin(t, d, "run", "--local", "2", "--app", wc, "--input", "s3://inp/*.txt", "--output", "s3://out/killed", "--reduces", "3")
		checkWordCounts(t, readS3Output(t, mc, "out", "killed"), books[:2])
		if n := incompleteUploads(t, mc, "out", "killed/"); n != 0 {
			t.Errorf("%d incomplete uploads left after the next job:\n%s", n, r.stdout)
		}
	})
	t.Run("second job refused", func(t *testing.T) {
		gates := t.TempDir()
		b := startDistBin(t, d, "run", "--local", "1", "--app", gateApp(t), "--input", "s3://inp/*.txt",
			"--output", "s3://out/busy", "--reduces", "1", "--param", "gate=^m-00000/0$", "--param", "gate_dir="+gates)
		waitFor(t, time.Minute, "m-00000 at its gate", func() bool { return len(atGate(gates, "m-00000-0")) == 1 })
		start := time.Now()
		r := distBin(t, d, "run", "--local", "1", "--app", wc, "--input", "s3://inp/*.txt", "--output", "s3://out/busy", "--reduces", "1")
		check(t, r, "in use by job")
		if d := time.Since(start); d > time.Minute {
			t.Errorf("the second job took %v to be refused", d)
		}
		openGate(t, gates, "open")
		if r := b.wait(t); r.code != 0 {
			t.Fatalf("the first job failed:\n%s", r.stderr)
		}
		checkWordCounts(t, readS3Output(t, mc, "out", "busy"), books[:2])
	})
}

// A worker on the client's host reads local inputs in place and writes
// parts into the output's staging directory: --local carries nothing
// (a worker on another host: TestSummarySaysClientDataBytes).
func TestLocalInputsInPlace(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	glob := filepath.Join(filepath.Dir(books[0]), "*.txt")
	wc := env.App(t, "wordcount")
	t.Run("same host", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		r := mustRun(t, "run", "--local", "2", "--app", wc, "--input", glob, "--output", out, "--reduces", "3", "--split-size", "300000")
		checkWordCounts(t, out, books)
		if in, o := clientData(t, r.stdout); in != 0 || o != 0 {
			t.Errorf("client data bytes: in %d, out %d; want 0 and 0 on --local:\n%s", in, o, r.stdout)
		}
	})
	t.Run("file changed mid-job", func(t *testing.T) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
		os.WriteFile(a, []byte("one two\n"), 0o644)
		os.WriteFile(b, []byte("three four\n"), 0o644)
		gates := t.TempDir()
		// --split-size 8 keeps the two files from being packed into one
		// map, which would copy b before the change.
		bg := startDist(t, "run", "--local", "1", "--local-slots", "1", "--app", gateApp(t), "--input", filepath.Join(dir, "*.txt"),
			"--output", filepath.Join(t.TempDir(), "out"), "--reduces", "1", "--speculative=false", "--split-size", "8",
			"--param", "gate=^m-00000/0$", "--param", "gate_dir="+gates)
		waitFor(t, time.Minute, "m-00000 at its gate", func() bool { return len(atGate(gates, "m-00000-0")) == 1 })
		if err := os.WriteFile(b, []byte("three four five\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		openGate(t, gates, "open")
		r := bg.wait(t)
		if r.code == 0 || !strings.Contains(r.stderr, b) || !strings.Contains(r.stderr, "changed") {
			t.Fatalf("exit %d; want a failure naming %s as changed:\n%s", r.code, b, r.stderr)
		}
	})
}
