package s3store

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage"
)

func testList(t *testing.T, f *fixture) {
	b := f.bucket(t, "list")
	f.put(t, b, map[string]string{
		"logs/a.log":           "a\n",
		"logs/b.log":           "bb\n",
		"logs/c.txt":           "ccc\n",
		"logs/_SUCCESS":        "",
		"logs/.hidden.log":     "h\n",
		"logs/deep/d.log":      "dddd\n",
		"logs/deep/_tmp/e.log": "e\n", // under a _ directory, but its own name is plain
		"other/x.log":          "x\n",
	})
	s := newStore(t)
	ctx := testCtx(t)
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"s3://list/logs/a.log", []string{"logs/a.log"}},
		{"s3://list/logs/_SUCCESS", []string{"logs/_SUCCESS"}}, // named exactly: not skipped
		{"s3://list/logs/", []string{"logs/a.log", "logs/b.log", "logs/c.txt", "logs/deep/_tmp/e.log", "logs/deep/d.log"}},
		{"s3://list/logs/*.log", []string{"logs/a.log", "logs/b.log"}},
		{"s3://list/logs/[bc].*", []string{"logs/b.log", "logs/c.txt"}},
		{"s3://list/*.log", nil},
		{"s3://list/", []string{"logs/a.log", "logs/b.log", "logs/c.txt", "logs/deep/_tmp/e.log", "logs/deep/d.log", "other/x.log"}},
	} {
		objs, err := s.List(ctx, tc.url)
		if tc.want == nil {
			if !errors.Is(err, ErrNoMatch) || !errors.Is(err, storage.ErrNoMatch) {
				t.Errorf("List(%s) = %v, %v; want ErrNoMatch", tc.url, objs, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("List(%s): %v", tc.url, err)
			continue
		}
		var got []string
		for _, o := range objs {
			got = append(got, strings.TrimPrefix(o.Name, "s3://list/"))
			if o.Kind != storage.S3 || o.Version == "" || strings.Contains(o.Version, `"`) {
				t.Errorf("List(%s): %+v: want Kind s3 and an unquoted ETag", tc.url, o)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("List(%s) = %q, want %q", tc.url, got, tc.want)
		}
	}

	// Sizes and versions agree between a listing and a stat.
	all, err := s.List(ctx, "s3://list/logs/")
	if err != nil {
		t.Fatal(err)
	}
	one, err := s.List(ctx, "s3://list/logs/b.log")
	if err != nil {
		t.Fatal(err)
	}
	if all[1] != one[0] || one[0].Size != 3 {
		t.Errorf("listed %+v, stat %+v; want the same, of 3 bytes", all[1], one[0])
	}

	for url, want := range map[string]string{
		"s3://list/nope.log":  "no object s3://list/nope.log: upload it, or end the URL with / for every object under it",
		"s3://list/logs":      "no object s3://list/logs: upload it, or end the URL with / for every object under it",
		"s3://list/nothing/":  "no objects under s3://list/nothing/: upload the input or fix the --input URL",
		"s3://list/logs/*.gz": "no objects match s3://list/logs/*.gz: upload the input or fix the --input pattern",
	} {
		_, err := s.List(ctx, url)
		if !errors.Is(err, ErrNoMatch) || err.Error() != want {
			t.Errorf("List(%s) error = %v, want ErrNoMatch saying %q", url, err, want)
		}
	}
	for _, url := range []string{"s3://list/*/a.log", "s3://list/logs/[a.log"} {
		if _, err := s.List(ctx, url); err == nil || errors.Is(err, ErrNoMatch) {
			t.Errorf("List(%s) error = %v, want a bad pattern refused", url, err)
		}
	}
}

func testListNoBucket(t *testing.T, f *fixture) {
	s := newStore(t)
	if s.Endpoint() != f.srv.Endpoint() {
		t.Fatalf("Endpoint() = %s, want %s", s.Endpoint(), f.srv.Endpoint())
	}
	want := `bucket "missing" does not exist at ` + f.srv.Endpoint() + `: create it or fix the --input/--output URL`
	for _, url := range []string{"s3://missing/a.log", "s3://missing/logs/", "s3://missing/*.log"} {
		_, err := s.List(testCtx(t), url)
		if !errors.Is(err, ErrNoBucket) || err.Error() != want || Retryable(err) {
			t.Errorf("List(%s) error = %v, want ErrNoBucket saying %q, not retryable", url, err, want)
		}
	}
	if _, err := s.ListAll(testCtx(t), "s3://missing/out"); !errors.Is(err, ErrNoBucket) {
		t.Errorf("ListAll of a missing bucket: %v, want ErrNoBucket", err)
	}
}
