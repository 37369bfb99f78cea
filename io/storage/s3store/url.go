package s3store

import (
	"fmt"
	"net"
	"strings"

	"github.com/distmr/dist/io/storage"
)

// ParseURL splits s3://BUCKET/KEY. KEY may be empty or end in "/" (a
// prefix); it may not hold "..", "." or empty elements ("//"), which
// name no object a reader would expect. The bucket must be a valid S3
// bucket name.
func ParseURL(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, storage.S3Prefix)
	if !ok {
		return "", "", fmt.Errorf("%q is not an S3 URL: write s3://BUCKET/KEY", u)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("S3 URL %q names no bucket: write s3://BUCKET/KEY", u)
	}
	if err := checkBucket(bucket); err != nil {
		return "", "", fmt.Errorf("S3 URL %q: bucket name %q %s: use 3-63 lowercase letters, digits, dots and hyphens", u, bucket, err)
	}
	if key == "" {
		return bucket, "", nil
	}
	elems := strings.Split(strings.TrimSuffix(key, "/"), "/")
	for _, e := range elems {
		switch e {
		case "":
			return "", "", fmt.Errorf("S3 URL %q has an empty path element (//): remove it", u)
		case ".", "..":
			return "", "", fmt.Errorf("S3 URL %q has a %q path element: name the key without it", u, e)
		}
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", "", fmt.Errorf("S3 URL %q has a control character in its key: remove it", u)
	}
	return bucket, key, nil
}

// checkBucket applies S3's bucket naming rules.
func checkBucket(b string) error {
	switch {
	case len(b) < 3 || len(b) > 63:
		return fmt.Errorf("has %d characters", len(b))
	case !isLowerAlnum(b[0]) || !isLowerAlnum(b[len(b)-1]):
		return fmt.Errorf("must begin and end with a letter or digit")
	case strings.Contains(b, ".."), strings.Contains(b, ".-"), strings.Contains(b, "-."):
		return fmt.Errorf("has an empty label")
	case net.ParseIP(b) != nil:
		return fmt.Errorf("is an IP address")
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !isLowerAlnum(c) && c != '.' && c != '-' {
			return fmt.Errorf("has %q", c)
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// objectURL is the URL of key in bucket.
func objectURL(bucket, key string) string { return storage.S3Prefix + bucket + "/" + key }

// parseObject is ParseURL for a URL that must name one object.
func parseObject(u string) (bucket, key string, err error) {
	bucket, key, err = ParseURL(u)
	if err == nil && (key == "" || strings.HasSuffix(key, "/")) {
		err = fmt.Errorf("S3 URL %q names a prefix, not an object: add the object's name", u)
	}
	return bucket, key, err
}

// parsePrefix is ParseURL for a URL that names everything under a
// prefix: s3://b/out and s3://b/out/ both mean the keys under "out/"
// (never those of "out2/...").
func parsePrefix(u string) (bucket, prefix string, err error) {
	bucket, key, err := ParseURL(u)
	if err == nil && key != "" && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	return bucket, key, err
}
