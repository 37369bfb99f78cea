package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// Refused credentials fail at once, naming the cause, without a retry
// and without the secret.
func testWrongCredentials(t *testing.T, f *fixture) {
	const secret = "not-the-secret-4f9a1c"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	s := newStore(t)
	s.backoff = time.Hour // a retry would outlive the context
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.bucket(t, "creds")
	for name, call := range map[string]func() error{
		"List":   func() error { _, err := s.List(ctx, "s3://creds/a.log"); return err },
		"Glob":   func() error { _, err := s.List(ctx, "s3://creds/*.log"); return err },
		"Put":    func() error { return s.Put(ctx, "s3://creds/x", []byte("x")) },
		"Upload": func() error { _, err := s.Upload(ctx, "s3://creds/x", strings.NewReader("x")); return err },
	} {
		err := call()
		if !errors.Is(err, ErrAuth) || Retryable(err) {
			t.Fatalf("%s with a wrong secret: %v, want ErrAuth, not retryable", name, err)
		}
		msg := err.Error()
		t.Logf("%s: %s", name, msg)
		if !strings.HasPrefix(msg, "S3 at "+f.srv.Endpoint()+" refused the credentials (") ||
			!strings.HasSuffix(msg, "): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
			t.Errorf("%s: %q", name, msg)
		}
		if strings.Contains(msg, secret) || strings.Contains(msg, "\n") {
			t.Errorf("%s: the error shows the secret or has several lines: %q", name, msg)
		}
	}
}

// An endpoint that does not answer: a few tries, then one line naming it.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-never-shown")
	s := newStore(t)
	// The real backoff (about 3 s in all): if the tries took longer, the
	// error would be the context's.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err = s.List(ctx, "s3://books/*.txt")
	if !errors.Is(err, ErrUnreachable) || !Retryable(err) {
		t.Fatalf("List at a closed port: %v, want ErrUnreachable", err)
	}
	msg := err.Error()
	t.Log(msg)
	want := "S3 endpoint " + endpoint + " is unreachable after 4 tries: dial tcp "
	if !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, "connection refused: start it or fix AWS_ENDPOINT_URL") {
		t.Fatalf("error %q\nwant %s...connection refused: start it or fix AWS_ENDPOINT_URL", msg, want)
	}
	if strings.Contains(msg, "secret-never-shown") {
		t.Fatalf("the error shows the secret: %q", msg)
	}

	// A cancelled context stops the retries.
	cancelled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if _, err := s.List(cancelled, "s3://books/*.txt"); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a cancelled context: %v", err)
	}
}

func TestRetryable(t *testing.T) {
	for _, err := range []error{ErrAuth, ErrNoBucket, ErrChanged, ErrLocked, ErrNotExist, ErrNoMatch, errors.New("x")} {
		if Retryable(err) {
			t.Errorf("Retryable(%v) = true", err)
		}
	}
	for _, err := range []error{
		newError("down", ErrUnreachable),
		minio.ErrorResponse{Code: "SlowDown", StatusCode: 503},
		minio.ErrorResponse{Code: "InternalError", StatusCode: 500},
		fmt.Errorf("reading: %w", minio.ErrorResponse{Code: "502 Bad Gateway", StatusCode: 502}),
	} {
		if !Retryable(err) {
			t.Errorf("Retryable(%#v) = false", err)
		}
	}
	for _, err := range []error{
		minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404},
		minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403},
	} {
		if Retryable(err) {
			t.Errorf("Retryable(%#v) = true", err)
		}
	}
}
