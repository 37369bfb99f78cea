package streaming

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// asciiWords is the scripts' definition of a word, written independently:
// maximal runs of ASCII letters and digits, lower-cased.
func asciiWords(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
}

func asciiCounts(text string) map[string]int {
	counts := map[string]int{}
	for _, w := range asciiWords(text) {
		counts[strings.ToLower(w)]++
	}
	return counts
}

// pipeline runs map.sh | sort | reduce.sh the way a one-reducer job would.
func pipeline(t *testing.T, input []byte) map[string]int {
	t.Helper()
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk:", err)
	}
	run := func(name string, args []string, in []byte) []byte {
		cmd := exec.Command(name, args...)
		cmd.Stdin = bytes.NewReader(in)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		return out
	}
	mapped := run("./map.sh", nil, input)
	sorted := run("sort", []string{"-t", "\t", "-k1,1"}, mapped)
	reduced := run("./reduce.sh", nil, sorted)
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(string(reduced), "\n"), "\n") {
		w, c, ok := strings.Cut(line, "\t")
		n, err := strconv.Atoi(c)
		if !ok || err != nil {
			t.Fatalf("bad output line %q", line)
		}
		if _, dup := counts[w]; dup {
			t.Fatalf("word %q twice: reduce.sh did not group sorted input", w)
		}
		counts[w] = n
	}
	return counts
}

func TestScriptsDefinition(t *testing.T) {
	text := "Hello, World! hello 42x\tx42 0 00 000 0\nCAFÉ café — naïve Ünïcödé\r\n\n  Straße 3.14 don't\n"
	got := pipeline(t, []byte(text))
	want := asciiCounts(text)
	if !maps.Equal(got, want) {
		t.Fatalf("scripts counted %v, want %v", got, want)
	}
	if got["caf"] != 2 || got["hello"] != 2 || got["don"] != 1 || got["t"] != 1 || got["0"] != 2 || got["000"] != 1 {
		t.Fatalf("unexpected counts %v", got)
	}
}

func TestScriptsAgreeWithWordCountOnCorpus(t *testing.T) {
	env, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	books := env.Corpus(t)
	var all []byte
	for _, b := range books {
		data, err := os.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		// The two definitions of a word agree on ASCII text only.
		for i, c := range data {
			if c >= utf8.RuneSelf {
				t.Fatalf("%s has a non-ASCII byte at %d: the corpus no longer fits the scripts' definition", filepath.Base(b), i)
			}
		}
		all = append(all, data...)
	}
	got := pipeline(t, all)
	want := testenv.WordCounts(t, books)
	if !maps.Equal(got, want) {
		t.Fatalf("scripts: %d words, wordcount's definition: %d words", len(got), len(want))
	}
}
