package s3store

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
)

// List expands one --input URL into the objects it names, sorted by name:
//
//	s3://b/key        that object
//	s3://b/prefix/    every object under the prefix, at any depth
//	s3://b/dir/*.log  the objects directly under dir/ whose name matches
//	                  (path.Match, over the last element only)
//
// A prefix or a glob skips names whose last element starts with "_" or
// "." (_SUCCESS, a _dist-lock, editor and tool files), as Hadoop does.
// Version is the ETag. No object → an error wrapping ErrNoMatch.
func (s *Store) List(ctx context.Context, u string) ([]storage.Object, error) {
	bucket, key, err := ParseURL(u)
	if err != nil {
		return nil, err
	}
	dir, last := path.Split(key)
	switch {
	case key == "" || strings.HasSuffix(key, "/"):
		objs, err := s.list(ctx, bucket, key, true, func(name string) bool { return !hidden(name) })
		if err == nil && len(objs) == 0 {
			err = newError(fmt.Sprintf("no objects under %s: upload the input or fix the --input URL", u), ErrNoMatch)
		}
		return objs, err
	case strings.ContainsAny(dir, "*?[\\"):
		return nil, fmt.Errorf("S3 URL %q has a glob before its last element: only the object name may be a pattern", u)
	case strings.ContainsAny(last, "*?[\\"):
		if _, err := path.Match(last, ""); err != nil {
			return nil, fmt.Errorf("S3 URL %q has a malformed pattern %q (%v): close its [ or escape the character with \\", u, last, err)
		}
		objs, err := s.list(ctx, bucket, dir, false, func(name string) bool {
			ok, _ := path.Match(last, name)
			return ok && !hidden(name)
		})
		if err == nil && len(objs) == 0 {
			err = newError(fmt.Sprintf("no objects match %s: upload the input or fix the --input pattern", u), ErrNoMatch)
		}
		return objs, err
	}
	return s.stat(ctx, bucket, key)
}

// hidden says whether a name is one that listings skip.
func hidden(name string) bool { return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") }

// stat lists the one object key.
func (s *Store) stat(ctx context.Context, bucket, key string) ([]storage.Object, error) {
	var info minio.ObjectInfo
	err := s.do(ctx, bucket, func(ctx context.Context) (err error) {
		info, err = s.core.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
		return err
	})
	if status(err) == 404 {
		// A HEAD's 404 has no body to say whether the bucket is missing.
		if err := s.checkBucket(ctx, bucket); err != nil {
			return nil, err
		}
		return nil, newError(fmt.Sprintf("no object %s: upload it, or end the URL with / for every object under it", objectURL(bucket, key)),
			ErrNoMatch, err)
	}
	if err != nil {
		return nil, failed("listing", objectURL(bucket, key), err)
	}
	return []storage.Object{object(bucket, info)}, nil
}

// checkBucket returns ErrNoBucket if the bucket does not exist.
func (s *Store) checkBucket(ctx context.Context, bucket string) error {
	var ok bool
	err := s.do(ctx, bucket, func(ctx context.Context) (err error) {
		ok, err = s.core.BucketExists(ctx, bucket)
		return err
	})
	if err == nil && !ok {
		return s.noBucket(bucket, nil)
	}
	return err
}

// ListAll returns every object under prefixURL (s3://b/p and s3://b/p/
// both mean the keys under "p/"), "_" and "." names included, sorted by
// name. None is not an error.
func (s *Store) ListAll(ctx context.Context, prefixURL string) ([]storage.Object, error) {
	bucket, prefix, err := parsePrefix(prefixURL)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, bucket, prefix, true, func(string) bool { return true })
}

// list returns the objects under prefix (recursive: at any depth, else
// directly under it) whose last element keep accepts. A listing that
// breaks is resumed after the last key it gave.
func (s *Store) list(ctx context.Context, bucket, prefix string, recursive bool, keep func(name string) bool) ([]storage.Object, error) {
	var objs []storage.Object
	after := ""
	err := s.do(ctx, bucket, func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx) // ends minio's listing goroutine if we stop early
		defer cancel()
		for info := range s.core.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive, StartAfter: after}) {
			if info.Err != nil {
				return info.Err
			}
			after = info.Key
			if strings.HasSuffix(info.Key, "/") { // a common prefix, or a directory marker
				continue
			}
			if keep(path.Base(info.Key)) {
				objs = append(objs, object(bucket, info))
			}
		}
		return nil
	})
	if err != nil {
		return nil, failed("listing", objectURL(bucket, prefix), err)
	}
	slices.SortFunc(objs, func(a, b storage.Object) int { return strings.Compare(a.Name, b.Name) })
	return objs, nil
}

func object(bucket string, info minio.ObjectInfo) storage.Object {
	return storage.Object{
		Name:    objectURL(bucket, info.Key),
		Kind:    storage.S3,
		Size:    info.Size,
		Version: strings.Trim(info.ETag, `"`),
	}
}
