package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/distmr/dist/client"
	"github.com/distmr/dist/internal/weedbin"
)

// s3Store is a private S3-compatible store (SeaweedFS, through
// scripts/s3-local.sh) on this machine, with the buckets the benchmark
// reads from and writes to.
type s3Store struct {
	cfg     *Config
	dir     string   // the script's state directory
	env     []string // AWS_* variables for dist and its --local workers
	mc      *minio.Client
	Version string // SeaweedFS version pinned in scripts/s3local
}

// Buckets of the benchmark's store.
const (
	inBucket  = "bench"
	outBucket = "bench-out"
)

// startStore starts the store and makes its buckets. Without a built
// weed it fails with errUnavailable rather than start a build of
// several minutes.
func startStore(ctx context.Context, cfg *Config) (*s3Store, error) {
	version, err := weedBuilt(cfg.Root)
	if err != nil {
		return nil, err
	}
	st := &s3Store{cfg: cfg, dir: filepath.Join(cfg.Work, "s3"), Version: version}
	logf(cfg.Log, "starting the S3 store (scripts/s3-local.sh start %s)", st.dir)
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(cfg.Root, "scripts", "s3-local.sh"), "start", st.dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		st.stop()
		return nil, fmt.Errorf("s3-local.sh start: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	vars, err := parseExports(string(out))
	if err != nil {
		st.stop()
		return nil, fmt.Errorf("s3-local.sh start: %w", err)
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		st.env = append(st.env, k+"="+vars[k])
	}
	if st.mc, err = newMinio(vars); err != nil {
		st.stop()
		return nil, err
	}
	if err := st.makeBuckets(ctx); err != nil {
		st.stop()
		return nil, err
	}
	return st, nil
}

// makeBuckets makes the buckets and writes to each once: a bucket's
// first write waits some seconds on weed, which no timed run should.
func (st *s3Store) makeBuckets(ctx context.Context) error {
	for _, b := range []string{inBucket, outBucket} {
		if err := st.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("make bucket %s: %w", b, err)
		}
		if _, err := st.mc.PutObject(ctx, b, "probe", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("first write to bucket %s: %w", b, err)
		}
		if err := st.mc.RemoveObject(ctx, b, "probe", minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
	}
	return nil
}

// stop stops the store by the pid the script recorded (weed takes about
// 15 s to exit).
func (st *s3Store) stop() {
	start := time.Now()
	cmd := exec.Command("bash", filepath.Join(st.cfg.Root, "scripts", "s3-local.sh"), "stop", st.dir)
	cmd.Stderr = st.cfg.Log
	if err := cmd.Run(); err != nil {
		logf(st.cfg.Log, "stopping the S3 store: %v (its state is in %s)", err, st.dir)
		return
	}
	logf(st.cfg.Log, "S3 store stopped in %v", time.Since(start).Round(100*time.Millisecond))
}

// upload puts files under s3://bucket/prefix/ by base name and returns
// how long it took.
func (st *s3Store) upload(ctx context.Context, bucket, prefix string, files []string) (time.Duration, error) {
	start := time.Now()
	for _, f := range files {
		key := path.Join(prefix, filepath.Base(f))
		if _, err := st.mc.FPutObject(ctx, bucket, key, f, minio.PutObjectOptions{}); err != nil {
			return 0, fmt.Errorf("upload %s to s3://%s/%s: %w", f, bucket, key, err)
		}
	}
	return time.Since(start), nil
}

// manifest reads an S3 output's _SUCCESS.
func (st *s3Store) manifest(ctx context.Context, bucket, prefix string) (*client.Manifest, error) {
	b, err := st.get(ctx, bucket, path.Join(prefix, "_SUCCESS"))
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s has no _SUCCESS: %w", bucket, prefix, err)
	}
	var m client.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("s3://%s/%s/_SUCCESS: %w", bucket, prefix, err)
	}
	if len(m.Parts) == 0 {
		return nil, fmt.Errorf("s3://%s/%s/_SUCCESS lists no parts", bucket, prefix)
	}
	return &m, nil
}

// download copies an S3 output (its _SUCCESS and the parts it lists)
// into a new local directory dir, as a directory output would be.
func (st *s3Store) download(ctx context.Context, bucket, prefix, dir string) error {
	m, err := st.manifest(ctx, bucket, prefix)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range m.Parts {
		key := path.Join(prefix, p.Name)
		if err := st.mc.FGetObject(ctx, bucket, key, filepath.Join(dir, p.Name), minio.GetObjectOptions{}); err != nil {
			return fmt.Errorf("download s3://%s/%s: %w", bucket, key, err)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "_SUCCESS"), b, 0o644)
}

// hashObjects returns the SHA-256 and size of objects one after the
// other, read as a stream.
func (st *s3Store) hashObjects(ctx context.Context, bucket string, keys ...string) (string, int64, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var size int64
	for _, key := range keys {
		o, err := st.mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return "", 0, err
		}
		n, err := io.CopyBuffer(h, o, buf)
		o.Close()
		if err != nil {
			return "", 0, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
		}
		size += n
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func (st *s3Store) get(ctx context.Context, bucket, key string) ([]byte, error) {
	o, err := st.mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// newMinio makes a client of the store the AWS_* variables describe.
func newMinio(vars map[string]string) (*minio.Client, error) {
	u, err := url.Parse(vars["AWS_ENDPOINT_URL"])
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("s3-local.sh printed AWS_ENDPOINT_URL=%q, not a URL", vars["AWS_ENDPOINT_URL"])
	}
	return minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(vars["AWS_ACCESS_KEY_ID"], vars["AWS_SECRET_ACCESS_KEY"], ""),
		Secure: u.Scheme == "https",
		Region: vars["AWS_REGION"],
	})
}

// parseExports reads the lines s3-local.sh prints to eval:
//
//	export AWS_ENDPOINT_URL=http://127.0.0.1:PORT
//	export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=...
//
// Values hold no spaces or quotes. Every one of those four must be set.
func parseExports(out string) (map[string]string, error) {
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "export" {
			continue
		}
		for _, kv := range f[1:] {
			if k, v, ok := strings.Cut(kv, "="); ok {
				vars[k] = v
			}
		}
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} {
		if vars[k] == "" {
			return nil, fmt.Errorf("no %s in the export lines it printed:\n%s", k, out)
		}
	}
	return vars, nil
}

// weedBuilt returns the SeaweedFS version pinned under root, failing
// with errUnavailable unless the weed that scripts/s3-local.sh start
// would run is built (package weedbin finds it as the script does).
func weedBuilt(root string) (string, error) {
	_, version, err := weedbin.Find(root)
	if errors.Is(err, weedbin.ErrNotBuilt) {
		return "", fmt.Errorf("%w: %v", errUnavailable, err)
	}
	return version, err
}
