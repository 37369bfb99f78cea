package s3test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func TestStartPutGetList(t *testing.T) {
	s := Start(t)
	roundTrip(t, s.Client())

	// Env is what a child process gets: it reaches the same store.
	env := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c := clientFromEnv(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ok, err := c.BucketExists(ctx, "books"); err != nil || !ok {
		t.Fatalf("BucketExists(books) with Env's credentials = %v, %v; want true", ok, err)
	}
}

// clientFromEnv makes a minio-go client from AWS_* variables.
func clientFromEnv(t *testing.T, env map[string]string) *minio.Client {
	t.Helper()
	host, ok := strings.CutPrefix(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:")
	if !ok {
		t.Fatalf("AWS_ENDPOINT_URL=%s, want http://127.0.0.1:PORT", env["AWS_ENDPOINT_URL"])
	}
	c, err := minio.New("127.0.0.1:"+host, &minio.Options{
		Creds:  credentials.NewStaticV4(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""),
		Region: env["AWS_REGION"],
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip creates a bucket, puts an object, reads it back and lists it.
func roundTrip(t *testing.T, c *minio.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const bucket, key = "books", "2026/11/moby.txt"
	body := []byte("Call me Ishmael.\nSome years ago\n")

	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("MakeBucket %s: %v", bucket, err)
	}
	if _, err := c.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	got, err := io.ReadAll(obj)
	if cerr := obj.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("GetObject %s/%s = %q, want %q", bucket, key, got, body)
	}

	var listed []minio.ObjectInfo
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "2026/", Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("ListObjects %s: %v", bucket, o.Err)
		}
		listed = append(listed, o)
	}
	if len(listed) != 1 || listed[0].Key != key || listed[0].Size != int64(len(body)) {
		t.Fatalf("ListObjects %s/2026/ = %+v, want one object %s of %d bytes", bucket, listed, key, len(body))
	}
}
