package s3store

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for u, want := range map[string][2]string{
		"s3://books":            {"books", ""},
		"s3://books/":           {"books", ""},
		"s3://books/moby.txt":   {"books", "moby.txt"},
		"s3://books/2026/11/":   {"books", "2026/11/"},
		"s3://books/2026/*.txt": {"books", "2026/*.txt"},
		"s3://my.books-1/a b.c": {"my.books-1", "a b.c"},
		"s3://books/a..b/c.":    {"books", "a..b/c."},
	} {
		b, k, err := ParseURL(u)
		if err != nil || b != want[0] || k != want[1] {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", u, b, k, err, want[0], want[1])
		}
	}
	for u, want := range map[string]string{
		"books/moby.txt":    `"books/moby.txt" is not an S3 URL: write s3://BUCKET/KEY`,
		"s3:/books":         `"s3:/books" is not an S3 URL: write s3://BUCKET/KEY`,
		"s3:///moby.txt":    `S3 URL "s3:///moby.txt" names no bucket: write s3://BUCKET/KEY`,
		"s3://bOoks/x":      `S3 URL "s3://bOoks/x": bucket name "bOoks" has 'O': use 3-63 lowercase letters, digits, dots and hyphens`,
		"s3://ab/x":         `S3 URL "s3://ab/x": bucket name "ab" has 2 characters: use 3-63 lowercase letters, digits, dots and hyphens`,
		"s3://a_b/x":        `S3 URL "s3://a_b/x": bucket name "a_b" has '_': use 3-63 lowercase letters, digits, dots and hyphens`,
		"s3://-ab/x":        `S3 URL "s3://-ab/x": bucket name "-ab" must begin and end with a letter or digit: use 3-63 lowercase letters, digits, dots and hyphens`,
		"s3://a..b/x":       `S3 URL "s3://a..b/x": bucket name "a..b" has an empty label: use 3-63 lowercase letters, digits, dots and hyphens`,
		"s3://10.0.0.1/x":   `S3 URL "s3://10.0.0.1/x": bucket name "10.0.0.1" is an IP address: use 3-63 lowercase letters, digits, dots and hyphens`,
		"s3://books/a/../b": `S3 URL "s3://books/a/../b" has a ".." path element: name the key without it`,
		"s3://books/../b":   `S3 URL "s3://books/../b" has a ".." path element: name the key without it`,
		"s3://books/./b":    `S3 URL "s3://books/./b" has a "." path element: name the key without it`,
		"s3://books/a/..":   `S3 URL "s3://books/a/.." has a ".." path element: name the key without it`,
		"s3://books//b":     `S3 URL "s3://books//b" has an empty path element (//): remove it`,
		"s3://books/a//b":   `S3 URL "s3://books/a//b" has an empty path element (//): remove it`,
		"s3://books/a\nb":   `S3 URL "s3://books/a\nb" has a control character in its key: remove it`,
	} {
		if _, _, err := ParseURL(u); err == nil || err.Error() != want {
			t.Errorf("ParseURL(%q) error = %v\nwant %s", u, err, want)
		}
	}
	if _, _, err := parseObject("s3://books/dir/"); err == nil {
		t.Error("parseObject accepted a prefix")
	}
	for u, want := range map[string]string{"s3://b0k/out": "out/", "s3://b0k/out/": "out/", "s3://b0k": ""} {
		if _, p, err := parsePrefix(u); err != nil || p != want {
			t.Errorf("parsePrefix(%q) = %q, %v; want %q", u, p, err, want)
		}
	}
}

// FuzzParseURL: a URL accepted names exactly its bucket and key, and a
// key accepted has no element a path would resolve away.
func FuzzParseURL(f *testing.F) {
	for _, u := range []string{"s3://books/moby.txt", "s3://b0k/", "s3://b0k/a/../b", "s3://b0k//x", "s3:///x", "s3://a.b-c/d/*.log", "s3://x"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		bucket, key, err := ParseURL(u)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(u, "\n") {
				t.Fatalf("ParseURL(%q): a multi-line error %q", u, err)
			}
			return
		}
		if got := "s3://" + bucket + "/" + key; got != u && got != u+"/" {
			t.Fatalf("ParseURL(%q) = %q, %q: does not rebuild the URL", u, bucket, key)
		}
		if checkBucket(bucket) != nil {
			t.Fatalf("ParseURL(%q) accepted bucket %q", u, bucket)
		}
		for _, e := range strings.Split(strings.TrimSuffix(key, "/"), "/") {
			if key != "" && (e == "" || e == "." || e == "..") {
				t.Fatalf("ParseURL(%q) accepted key %q", u, key)
			}
		}
	})
}
