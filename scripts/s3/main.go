// Command s3 is the smallest S3 client the tutorial needs, so that trying
// S3 inputs and outputs wants nothing installed beyond Go (a fresh machine
// has no aws CLI, and curl cannot sign requests):
//
//	eval "$(scripts/s3-local.sh start)"
//	go run ./scripts/s3 mb s3://books s3://out
//	go run ./scripts/s3 put build/sample/*.txt s3://books/
//	go run ./scripts/s3 ls s3://out/wc/
//	go run ./scripts/s3 cat s3://out/wc/_SUCCESS
//
// It reads the standard AWS settings that scripts/s3-local.sh prints and
// dist reads: AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else the keys of the shared
// credentials file; a custom endpoint is addressed path-style.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const usage = `usage: s3 mb s3://BUCKET...                make buckets (one that exists is fine)
       s3 put FILE... s3://BUCKET/PREFIX/    upload files under PREFIX by base name
       s3 put FILE s3://BUCKET/KEY           upload one file as KEY
       s3 ls s3://BUCKET[/PREFIX]            list objects under PREFIX: size and URL
       s3 cat s3://BUCKET/KEY...             write objects to stdout`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run runs the command args with the AWS settings getenv gives.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 {
		return errUsage
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "mb":
		for _, u := range args {
			if err := makeBucket(ctx, c, u); err != nil {
				return err
			}
		}
		return nil
	case "put":
		if len(args) < 2 {
			return errUsage
		}
		return put(ctx, c, args[:len(args)-1], args[len(args)-1])
	case "ls":
		if len(args) != 1 {
			return errUsage
		}
		return list(ctx, c, args[0], stdout)
	case "cat":
		for _, u := range args {
			if err := cat(ctx, c, u, stdout); err != nil {
				return err
			}
		}
		return nil
	}
	return errUsage
}

// connect makes a client from the AWS settings getenv gives.
func connect(getenv func(string) string) (*minio.Client, error) {
	endpoint := getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("AWS_ENDPOINT_URL=%q is not an endpoint URL: set it like http://127.0.0.1:8333 (eval \"$(scripts/s3-local.sh status)\")", endpoint)
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	lookup := minio.BucketLookupAuto
	if !strings.HasSuffix(u.Hostname(), "amazonaws.com") {
		lookup = minio.BucketLookupPath
	}
	// The environment's keys, else the shared credentials file.
	creds := credentials.NewFileAWSCredentials("", "")
	if id := getenv("AWS_ACCESS_KEY_ID"); id != "" {
		creds = credentials.NewStaticV4(id, getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN"))
	}
	return minio.New(u.Host, &minio.Options{
		Creds:        creds,
		Secure:       u.Scheme == "https",
		Region:       region,
		BucketLookup: lookup,
	})
}

// parse splits s3://BUCKET/KEY.
func parse(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, key, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return "", "", fmt.Errorf("%q is not an S3 URL: write s3://BUCKET/KEY", u)
	}
	return bucket, key, nil
}

func makeBucket(ctx context.Context, c *minio.Client, u string) error {
	bucket, key, err := parse(u)
	if err != nil {
		return err
	}
	if key != "" {
		return fmt.Errorf("mb %s: name a bucket only, s3://BUCKET", u)
	}
	err = c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mb %s: %w", u, err)
	}
	return nil
}

// put uploads files to dst: under it by base name when it ends in "/",
// else (one file) as dst itself.
func put(ctx context.Context, c *minio.Client, files []string, dst string) error {
	bucket, key, err := parse(dst)
	if err != nil {
		return err
	}
	dir := key == "" || strings.HasSuffix(key, "/")
	if !dir && len(files) > 1 {
		return fmt.Errorf("put: %d files to one key %s: end it in / to upload under it", len(files), dst)
	}
	for _, f := range files {
		k := key
		if dir {
			k += filepath.Base(f)
		}
		if _, err := c.FPutObject(ctx, bucket, k, f, minio.PutObjectOptions{}); err != nil {
			return fmt.Errorf("put %s s3://%s/%s: %w", f, bucket, k, err)
		}
	}
	return nil
}

func list(ctx context.Context, c *minio.Client, u string, w io.Writer) error {
	bucket, prefix, err := parse(u)
	if err != nil {
		return err
	}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("ls %s: %w", u, o.Err)
		}
		if _, err := fmt.Fprintf(w, "%10d  s3://%s/%s\n", o.Size, bucket, o.Key); err != nil {
			return err
		}
	}
	return nil
}

func cat(ctx context.Context, c *minio.Client, u string, w io.Writer) error {
	bucket, key, err := parse(u)
	if err != nil {
		return err
	}
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("cat %s: %w", u, err)
	}
	defer obj.Close()
	if _, err := io.Copy(w, obj); err != nil {
		return fmt.Errorf("cat %s: %w", u, err)
	}
	return nil
}
