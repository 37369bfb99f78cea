package s3store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// tries bounds the attempts of one request to an endpoint that does not
	// answer or answers 5xx; minio's own retries are off, so they do not
	// multiply.
	tries = 4
	// firstBackoff is the wait before the second try; each later wait is
	// three times the one before (0.2 + 0.6 + 1.8 s: about 3 s in all).
	firstBackoff = 200 * time.Millisecond
	// dialTimeout bounds a connection attempt: a black-holed endpoint costs
	// tries × dialTimeout plus the backoff, not minutes.
	dialTimeout = 2 * time.Second
	// PartSize is the size of an upload's parts but the last.
	PartSize = 16 << 20
	// DefaultLockLease is how long an output lock lives without renewal.
	DefaultLockLease = 30 * time.Second
)

// Store reads and writes objects of one S3-compatible endpoint. It is
// safe for concurrent use once its exported fields are set.
type Store struct {
	core     minio.Core
	endpoint string

	// LockLease is how long a lock that is not renewed stays held; its
	// holder renews it every LockLease/3. Zero means DefaultLockLease.
	LockLease time.Duration

	tries    int
	backoff  time.Duration
	partSize int
	now      func() time.Time // the clock that judges a lock stale
}

var (
	_ storage.Store     = (*Store)(nil)
	_ storage.PartStore = (*Store)(nil)
)

// New connects using the standard AWS configuration of this process:
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
// (default us-east-1), AWS_ENDPOINT_URL (default https://s3.amazonaws.com),
// else AWS_PROFILE and the shared files ~/.aws/credentials and
// ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE). A custom
// endpoint is addressed path-style (http://host/bucket/key). New makes no
// request. Credentials never appear in any error string.
func New() (*Store, error) {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	tr, err := minio.DefaultTransport(cfg.secure)
	if err != nil {
		return nil, fmt.Errorf("S3 transport: %w", err)
	}
	tr.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	lookup := minio.BucketLookupAuto
	if cfg.custom {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.host, &minio.Options{
		// The environment first, then the shared files, as the AWS SDKs do.
		Creds: credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
		}),
		Secure:       cfg.secure,
		Region:       cfg.region,
		BucketLookup: lookup,
		Transport:    conditionalTransport{tr},
		MaxRetries:   1, // one try per call: Store.do retries
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w: fix AWS_ENDPOINT_URL", cfg.endpoint, err)
	}
	return &Store{
		core:     minio.Core{Client: client},
		endpoint: cfg.endpoint,
		tries:    tries,
		backoff:  firstBackoff,
		partSize: PartSize,
		now:      time.Now,
	}, nil
}

// Endpoint is the store's URL, scheme://host[:port], for messages.
func (s *Store) Endpoint() string { return s.endpoint }

// do runs a request, trying again when the endpoint did not answer or
// answered with a server error, and turns what it finally returns into
// the user's error: refused credentials and a missing bucket at once,
// an unreachable endpoint after s.tries. Other S3 errors (NoSuchKey,
// PreconditionFailed...) come back as they are, for the caller to read.
func (s *Store) do(ctx context.Context, bucket string, req func(context.Context) error) error {
	wait := s.backoff
	for try := 1; ; try++ {
		err := req(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c := classify(err)
		if (c == transient || c == unreachable) && try < s.tries {
			t := time.NewTimer(wait + rand.N(wait/4))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			wait *= 3
			continue
		}
		return s.explain(err, c, bucket, try)
	}
}

// explain words a request's final error for the user.
func (s *Store) explain(err error, c class, bucket string, try int) error {
	switch c {
	case auth:
		return newError(fmt.Sprintf("S3 at %s refused the credentials (%s): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
			s.endpoint, code(err)), ErrAuth, err)
	case noBucket:
		return s.noBucket(bucket, err)
	case unreachable:
		return newError(fmt.Sprintf("S3 endpoint %s is unreachable after %d tries: %s: start it or fix AWS_ENDPOINT_URL",
			s.endpoint, try, describe(err)), ErrUnreachable, err)
	case transient:
		return newError(fmt.Sprintf("S3 at %s failed %d tries: %s: try again later", s.endpoint, try, describe(err)), err)
	}
	return err
}

func (s *Store) noBucket(bucket string, err error) error {
	return newError(fmt.Sprintf("bucket %q does not exist at %s: create it or fix the --input/--output URL", bucket, s.endpoint),
		ErrNoBucket, err)
}

// ifMatchKey carries, in a request's context, an ETag the transport puts
// in an If-Match header: minio has no option for it on a DELETE.
type ifMatchKey struct{}

// withIfMatch makes the requests made with ctx conditional on etag.
func withIfMatch(ctx context.Context, etag string) context.Context {
	return context.WithValue(ctx, ifMatchKey{}, etag)
}

// conditionalTransport adds the If-Match header withIfMatch asks for. It
// is added after signing; S3 accepts standard headers left unsigned.
type conditionalTransport struct{ base http.RoundTripper }

func (t conditionalTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if etag, ok := req.Context().Value(ifMatchKey{}).(string); ok {
		req = req.Clone(req.Context())
		req.Header.Set("If-Match", `"`+etag+`"`)
	}
	return t.base.RoundTrip(req)
}
