package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
)

// smallParts makes s upload in parts of S3's minimum size, so that a test
// makes several with a few MiB.
func smallParts(s *Store) *Store {
	s.partSize = 5 << 20
	return s
}

func testUploadComplete(t *testing.T, f *fixture) {
	f.bucket(t, "upload")
	s := smallParts(newStore(t))
	ctx := testCtx(t)
	data := bytes.Repeat([]byte("0123456789abcdef\n"), (11<<20)/17) // two full parts and a short one
	const url = "s3://upload/out/part-00000"
	up, err := s.Upload(ctx, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if up.Name != url || up.UploadID == "" || up.Size != int64(len(data)) || up.CRC32C != crc32.Checksum(data, castagnoli) {
		t.Fatalf("Upload = %+v; want %d bytes, CRC32C %08x", up, len(data), crc32.Checksum(data, castagnoli))
	}
	var sizes []int64
	for i, p := range up.Parts {
		sizes = append(sizes, p.Size)
		if p.Number != i+1 || p.ETag == "" {
			t.Errorf("part %d = %+v", i, p)
		}
	}
	if fmt.Sprint(sizes) != fmt.Sprint([]int64{5 << 20, 5 << 20, int64(len(data)) - 10<<20}) {
		t.Errorf("part sizes %v, want two of 5 MiB and the rest", sizes)
	}

	// Invisible until completed.
	if objs, err := s.ListAll(ctx, "s3://upload/out"); err != nil || len(objs) != 0 {
		t.Fatalf("ListAll before Commit = %v, %v; want nothing", objs, err)
	}
	if _, err := s.Get(ctx, url); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Get before Commit: %v, want ErrNotExist", err)
	}

	if err := s.Commit(ctx, up); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, url)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after Commit: %d bytes, %v; want the %d uploaded", len(got), err, len(data))
	}
	// A job master carrying on a commit its predecessor made: the upload
	// is done, its object in place, whether the store says the upload is
	// gone or completes it again.
	if err := s.CommitResumed(ctx, up); err != nil {
		t.Fatalf("CommitResumed of a completed upload: %v", err)
	}
	objs, err := s.ListAll(ctx, "s3://upload/out/")
	if err != nil || len(objs) != 1 || objs[0].Name != url || objs[0].Size != int64(len(data)) {
		t.Fatalf("ListAll after Commit = %+v, %v", objs, err)
	}
	// What a retried Commit finds when the first one's answer was lost.
	if !s.completed(ctx, "upload", "out/part-00000", up) {
		t.Error("completed() does not recognize the completed upload by its ETag")
	}
	if n, err := s.AbortUploads(ctx, "s3://upload/out"); n != 0 || err != nil {
		t.Errorf("AbortUploads after Commit = %d, %v; want 0", n, err)
	}
}

func testUploadEmpty(t *testing.T, f *fixture) {
	f.bucket(t, "empty")
	s := newStore(t)
	ctx := testCtx(t)
	up, err := s.Upload(ctx, "s3://empty/out/part-0", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(up.Parts) != 1 || up.Parts[0].Size != 0 || up.Size != 0 || up.CRC32C != 0 {
		t.Fatalf("Upload of nothing = %+v, want one empty part", up)
	}
	if err := s.Commit(ctx, up); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "s3://empty/out/part-0"); err != nil || len(got) != 0 {
		t.Fatalf("Get = %q, %v; want an empty object", got, err)
	}
}

func testUploadAbort(t *testing.T, f *fixture) {
	f.bucket(t, "abort")
	s := newStore(t)
	ctx := testCtx(t)
	up, err := s.Upload(ctx, "s3://abort/out/part-0", bytes.NewReader([]byte("lost\n")))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(ctx, up); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(ctx, up); err != nil {
		t.Fatalf("Abort of an upload already gone: %v", err)
	}
	err = s.Commit(ctx, up)
	if err == nil || err.Error() != "the upload of s3://abort/out/part-0 is gone: a cleanup aborted it (did another job take over the output?): rerun the job" {
		t.Errorf("Commit of an aborted upload: %v", err)
	}
	if n, err := s.AbortUploads(ctx, "s3://abort/out/"); n != 0 || err != nil {
		t.Fatalf("AbortUploads after Abort = %d, %v; want 0", n, err)
	}
	if objs, err := s.ListAll(ctx, "s3://abort/"); err != nil || len(objs) != 0 {
		t.Fatalf("ListAll after Abort = %v, %v; want nothing", objs, err)
	}

	// A reader that fails: the upload it started is aborted.
	broken := io.MultiReader(bytes.NewReader([]byte("some")), iotestErrReader{})
	if _, err := s.Upload(ctx, "s3://abort/out/part-1", broken); !errors.Is(err, errTestRead) {
		t.Fatalf("Upload of a failing reader: %v, want its error", err)
	}
	if n, err := s.AbortUploads(ctx, "s3://abort/out/"); n != 0 || err != nil {
		t.Fatalf("AbortUploads after a failed Upload = %d, %v; want 0 (Upload aborts its own)", n, err)
	}
}

// A part written through Create in writes of every size streams into
// parts of partSize, stays invisible until Commit, and Abort before
// Finish drops it.
func testCreate(t *testing.T, f *fixture) {
	f.bucket(t, "create")
	s := smallParts(newStore(t))
	ctx := testCtx(t)
	var ps storage.PartStore = s
	data := bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz\n"), (12<<20)/27)
	const url = "s3://create/out/part-00001"
	part, err := ps.Create(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for rest, size := data, 1; len(rest) > 0; size = size*7 + 1 { // writes of 1 byte to megabytes
		n := min(size, len(rest))
		if k, err := part.Write(rest[:n]); k != n || err != nil {
			t.Fatalf("Write = %d, %v", k, err)
		}
		rest = rest[n:]
	}
	p, err := part.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != url || p.UploadID == "" || p.Size != int64(len(data)) || p.CRC32C != crc32.Checksum(data, castagnoli) || len(p.Parts) != 3 {
		t.Fatalf("Finish = %+v; want %d bytes in 3 parts, CRC32C %08x", p, len(data), crc32.Checksum(data, castagnoli))
	}
	if _, err := part.Finish(); err == nil {
		t.Error("a second Finish succeeded")
	}
	if err := part.Abort(); err != nil {
		t.Errorf("Abort after Finish: %v, want nothing done", err)
	}
	if _, err := s.Get(ctx, url); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Get before Commit: %v, want ErrNotExist", err)
	}
	if err := ps.Commit(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, url); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after Commit: %d bytes, %v; want the %d written", len(got), err, len(data))
	}

	// Aborted before Finish: its parts are dropped, nothing is left.
	part, err = ps.Create(ctx, "s3://create/out/part-00002")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Write(make([]byte, 6<<20)); err != nil {
		t.Fatal(err)
	}
	if err := part.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := part.Write([]byte("x")); err == nil {
		t.Error("a Write after Abort succeeded")
	}
	if n, err := s.AbortUploads(ctx, "s3://create/out"); n != 0 || err != nil {
		t.Fatalf("AbortUploads after Abort = %d, %v; want 0", n, err)
	}
	if _, err := ps.Create(ctx, "s3://create/out/"); err == nil {
		t.Error("Create of a prefix URL succeeded")
	}
}

var errTestRead = errors.New("the task died")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errTestRead }

// uploaderEnv names, in a child's environment, the URL it uploads to.
const uploaderEnv = "S3STORE_TEST_UPLOADER"

// uploaderChild uploads a full part and then whatever stdin gives (it
// gives nothing, and stays open), until it is killed.
func uploaderChild(url string) int {
	s, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	smallParts(s)
	r := io.MultiReader(bytes.NewReader(make([]byte, s.partSize)), os.Stdin)
	_, err = s.Upload(context.Background(), url, r)
	fmt.Fprintln(os.Stderr, "upload returned:", err)
	return 1
}

// An uploader killed mid-upload leaves an upload no one completes or
// aborts; AbortUploads finds and aborts it.
func testAbortKilledUploader(t *testing.T, f *fixture) {
	b := f.bucket(t, "killed")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), uploaderEnv+"=s3://killed/out/part-00003")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait until its first part is stored.
	core := minio.Core{Client: f.admin}
	deadline := time.After(30 * time.Second)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for !partStored(t, core, b) {
		select {
		case err := <-exited:
			t.Fatalf("the uploader exited (%v) before storing a part: %s", err, stderr.Bytes())
		case <-deadline:
			t.Fatalf("no part stored after 30s; uploader's stderr: %s", stderr.Bytes())
		case <-poll.C:
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited

	s := newStore(t)
	ctx := testCtx(t)
	if n, err := s.AbortUploads(ctx, "s3://killed/out"); n != 1 || err != nil {
		t.Fatalf("AbortUploads = %d, %v; want the killed uploader's 1", n, err)
	}
	if n, err := s.AbortUploads(ctx, "s3://killed/out"); n != 0 || err != nil {
		t.Fatalf("AbortUploads again = %d, %v; want 0", n, err)
	}
	if objs, err := s.ListAll(ctx, "s3://killed/"); err != nil || len(objs) != 0 {
		t.Fatalf("ListAll = %v, %v; want nothing", objs, err)
	}
}

// partStored says whether an upload in bucket has a part.
func partStored(t *testing.T, core minio.Core, bucket string) bool {
	ctx := testCtx(t)
	res, err := core.ListMultipartUploads(ctx, bucket, "", "", "", "", 10)
	if err != nil || len(res.Uploads) == 0 {
		return false
	}
	u := res.Uploads[0]
	parts, err := core.ListObjectParts(ctx, bucket, u.Key, u.UploadID, 0, 10)
	return err == nil && len(parts.ObjectParts) > 0
}

func testPutGetDelete(t *testing.T, f *fixture) {
	f.bucket(t, "small")
	s := newStore(t)
	ctx := testCtx(t)
	const url = "s3://small/out/_SUCCESS"
	if _, err := s.Get(ctx, url); !errors.Is(err, ErrNotExist) || err.Error() != "S3 object "+url+" does not exist" {
		t.Fatalf("Get of a missing object: %v", err)
	}
	manifest := []byte(`{"job":"j1","parts":[]}`)
	if err := s.Put(ctx, url, manifest); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, url); err != nil || !bytes.Equal(got, manifest) {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if objs, err := s.ListAll(ctx, "s3://small/out"); err != nil || len(objs) != 1 || objs[0].Name != url {
		t.Fatalf("ListAll = %v, %v; want the _SUCCESS object (ListAll keeps _ names)", objs, err)
	}
	if err := s.Delete(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, url); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
	if _, err := s.Get(ctx, url); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := s.Put(ctx, "s3://small/out/", manifest); err == nil {
		t.Fatal("Put to a prefix URL succeeded")
	}
}
