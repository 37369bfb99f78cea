package s3store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/s3test"
	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(uploaderEnv); url != "" {
		os.Exit(uploaderChild(url))
	}
	os.Exit(m.Run())
}

// fixture is what the tests against a real store share: starting one
// (and its first write) takes seconds, so TestStore starts one and runs
// every such test in it, each in its own bucket.
type fixture struct {
	srv   *s3test.Server
	admin *minio.Client // the test's own view of the store
}

// TestStore runs the tests that need a store, against one SeaweedFS.
func TestStore(t *testing.T) {
	srv := s3test.Start(t)
	useStore(t, srv)
	f := &fixture{srv: srv, admin: srv.Client()}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"List", testList},
		{"ListNoBucket", testListNoBucket},
		{"OpenRanges", testOpenRanges},
		{"OpenLineRule", testOpenLineRule},
		{"OpenChanged", testOpenChanged},
		{"OpenResumes", testOpenResumes},
		{"UploadComplete", testUploadComplete},
		{"UploadEmpty", testUploadEmpty},
		{"UploadAbort", testUploadAbort},
		{"Create", testCreate},
		{"AbortUploadsOfKilledUploader", testAbortKilledUploader},
		{"PutGetDelete", testPutGetDelete},
		{"Lock", testLock},
		{"LockRenews", testLockRenews},
		{"LockStaleByClock", testLockStaleByClock},
		{"LockTakeoverSameJob", testLockTakeoverSameJob},
		{"LockStaleByDeadPID", testLockStaleByDeadPID},
		{"LockRace", testLockRace},
		{"LockLostReply", testLockLostReply},
		{"WrongCredentials", testWrongCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f) })
	}
}

// useStore points this process's AWS configuration at srv only (no
// ~/.aws file of the machine running the tests counts).
func useStore(t *testing.T, srv *s3test.Server) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// newStore is New for a test.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// bucket makes a bucket for one test.
func (f *fixture) bucket(t testing.TB, name string) string {
	t.Helper()
	if err := f.admin.MakeBucket(testCtx(t), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket %s: %v", name, err)
	}
	return name
}

// put writes objects with the test's own client.
func (f *fixture) put(t testing.TB, bucket string, objs map[string]string) {
	t.Helper()
	for k, v := range objs {
		if _, err := f.admin.PutObject(testCtx(t), bucket, k, bytes.NewReader([]byte(v)), int64(len(v)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PutObject %s/%s: %v", bucket, k, err)
		}
	}
}
