package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// Words splits a line the way the example apps define a word: maximal runs
// of letters and digits, lower-cased. It is written here independently of
// the apps so the tests check them.
func Words(line string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(line) {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			b.WriteRune(r)
		} else {
			flush()
		}
	}
	flush()
	return out
}

// Lines calls fn for every line of every file (without the newline).
func Lines(t testing.TB, files []string, fn func(file string, offset int64, line string)) {
	t.Helper()
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReaderSize(fh, 1<<16)
		var off int64
		for {
			s, err := r.ReadString('\n')
			if len(s) > 0 {
				n := int64(len(s))
				s = strings.TrimSuffix(s, "\n")
				s = strings.TrimSuffix(s, "\r")
				fn(f, off, s)
				off += n
			}
			if err != nil {
				break
			}
		}
		fh.Close()
	}
}

// WordCounts is the sequential answer to word count.
func WordCounts(t testing.TB, files []string) map[string]int {
	counts := map[string]int{}
	Lines(t, files, func(_ string, _ int64, line string) {
		for _, w := range Words(line) {
			counts[w]++
		}
	})
	return counts
}

// ReadOutput reads every part-* file of a job output directory into a map
// from key to value, failing on duplicate keys.
func ReadOutput(t testing.TB, dir string) map[string]string {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files in %s", dir)
	}
	out := map[string]string{}
	for _, p := range parts {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), "\t")
			if _, dup := out[k]; dup {
				t.Fatalf("key %q appears twice in the output", k)
			}
			out[k] = v
		}
		f.Close()
	}
	return out
}

// SortedKeys returns m's keys in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
