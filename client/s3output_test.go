package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/distmr/dist/internal/testsupport/s3test"
	"github.com/distmr/dist/io/storage/s3store"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// outBucket starts an S3 store with a bucket "out", points this process's
// S3 settings at it, and returns it with a client and a context that the
// test's end cancels.
func outBucket(t *testing.T) (*s3test.Server, *minio.Client, context.Context) {
	srv := s3test.Start(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	mc := srv.Client()
	if err := mc.MakeBucket(ctx, "out", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return srv, mc, ctx
}

// The S3 committer against a real store: of two attempts of one task that
// both uploaded (an original and its backup), exactly the committed one
// is published; the other's upload is aborted; parts of an older output
// that this one does not have are removed; _SUCCESS lists exactly the
// parts.
func TestS3CommitOneAttemptPerTask(t *testing.T) {
	_, mc, ctx := outBucket(t)
	// An older finished output with three parts.
	for _, k := range []string{"o/part-00000", "o/part-00001", "o/part-00002", "o/_SUCCESS"} {
		if _, err := mc.PutObject(ctx, "out", k, strings.NewReader("old\n"), 4, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	store, err := s3store.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkS3Output(ctx, store, "s3://out/o", false); err == nil {
		t.Fatal("a finished output was taken without --overwrite")
	}
	o, err := openS3Output(ctx, store, "s3://out/o", "j1", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	upload := func(task string, attempt, index int, body string) {
		t.Helper()
		part := spec.PartName(index)
		w, err := store.Create(ctx, o.s3Key(part))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
		u, err := w.Finish()
		if err != nil {
			t.Fatal(err)
		}
		pu := proto.UploadOf(u)
		res := &spec.Result{Outputs: []spec.OutputFile{{Name: part, Size: u.Size, CRC32C: u.CRC32C}}}
		if err := o.uploaded(task, attempt, part, res, pu); err != nil {
			t.Fatal(err)
		}
	}
	upload("r-00000", 0, 0, "zero from attempt 0\n")
	upload("r-00000", 1, 0, "zero from the backup\n")
	upload("r-00001", 0, 1, "one\n")
	if _, err := mc.StatObject(ctx, "out", "o/part-00000", minio.StatObjectOptions{}); err != nil {
		t.Fatal("the old part vanished before the commit")
	}
	committed := []tracker.Committed{
		{Task: tracker.TaskRef{Phase: spec.PhaseReduce, Index: 0}, Attempt: 1},
		{Task: tracker.TaskRef{Phase: spec.PhaseReduce, Index: 1}, Attempt: 0},
	}
	if err := o.commit(ctx, committed); err != nil {
		t.Fatal(err)
	}
	read := func(key string) string {
		obj, err := mc.GetObject(ctx, "out", key, minio.GetObjectOptions{})
		if err != nil {
			return "ERR " + err.Error()
		}
		defer obj.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(obj); err != nil {
			return "ERR " + err.Error()
		}
		return b.String()
	}
	if got := read("o/part-00000"); got != "zero from the backup\n" {
		t.Errorf("part-00000 = %q, want the committed attempt's", got)
	}
	if got := read("o/part-00001"); got != "one\n" {
		t.Errorf("part-00001 = %q", got)
	}
	if got := read("o/part-00002"); !strings.HasPrefix(got, "ERR") {
		t.Errorf("the old part-00002 survived the overwrite: %q", got)
	}
	m, err := ReadS3Manifest(ctx, store, "s3://out/o")
	if err != nil || m.Job != "j1" || len(m.Parts) != 2 || m.Parts[0].Name != "part-00000" || m.Parts[0].Size != int64(len("zero from the backup\n")) {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	for u := range mc.ListIncompleteUploads(ctx, "out", "o/", true) {
		t.Errorf("upload left: %+v", u)
	}
}

// A job killed (its context ended) while its commit writes _SUCCESS: the
// PUT reached the store, and the kill came before its answer. What the
// commit reports must be what the output holds: an error with no
// _SUCCESS in place, or success with it. (It reported the kill while
// _SUCCESS stood: output committed by a job reported killed.)
func TestS3CommitKilledWhileSuccessIsWritten(t *testing.T) {
	srv, mc, ctx := outBucket(t)
	up, err := url.Parse(srv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	// The store, behind a proxy that forwards the PUT of _SUCCESS, then
	// kills the job and holds the answer until the job hangs up (or a
	// bound passes).
	jobCtx, kill := context.WithCancel(ctx)
	defer kill()
	rp := httputil.NewSingleHostReverseProxy(up)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/"+SuccessFile) {
			rp.ServeHTTP(w, r)
			return
		}
		out := r.Clone(context.WithoutCancel(r.Context()))
		out.URL.Scheme, out.URL.Host, out.RequestURI = up.Scheme, up.Host, ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		kill()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(2 * time.Second): // the job did not hang up: it waits for the answer
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	store, err := s3store.New()
	if err != nil {
		t.Fatal(err)
	}
	o, err := openS3Output(ctx, store, "s3://out/k", "j1", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := store.Create(ctx, o.s3Key("part-00000"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "word\t1\n"); err != nil {
		t.Fatal(err)
	}
	u, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	res := &spec.Result{Outputs: []spec.OutputFile{{Name: "part-00000", Size: u.Size, CRC32C: u.CRC32C}}}
	if err := o.uploaded("r-00000", 0, "part-00000", res, proto.UploadOf(u)); err != nil {
		t.Fatal(err)
	}
	cerr := o.commit(jobCtx, []tracker.Committed{{Task: tracker.TaskRef{Phase: spec.PhaseReduce, Index: 0}, Attempt: 0}})
	if jobCtx.Err() == nil {
		t.Fatal("the proxy never saw the PUT of _SUCCESS")
	}
	_, serr := mc.StatObject(ctx, "out", "k/"+SuccessFile, minio.StatObjectOptions{})
	switch {
	case cerr != nil && serr == nil:
		t.Fatalf("the commit failed (%v), yet _SUCCESS is in place", cerr)
	case cerr == nil && serr != nil:
		t.Fatalf("the commit succeeded, yet _SUCCESS is not in place: %v", serr)
	}
}
