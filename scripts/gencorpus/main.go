// Command gencorpus writes a deterministic sample corpus for the demo and
// benchmarks: files of English-looking lines whose word frequencies follow
// a Zipf law, so a word count has a clear top ten. The same flags always
// give the same bytes.
//
//	go run ./scripts/gencorpus -dir build/sample -files 6 -mb 4
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dir := flag.String("dir", "build/sample", "output directory")
	files := flag.Int("files", 6, "number of files")
	mb := flag.Float64("mb", 4, "total size in MB")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if err := generate(*dir, *files, int64(*mb*(1<<20)), *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

// common words head the Zipf ranking so the demo's top ten reads like
// English; the long tail is made of syllables.
var common = strings.Fields(`the of and to a in that is was he for it with as his on be at by
had not are but from or have an they which one you were her all she there would their we him
been has when who will more no if out so said what up its about into than them can only other`)

var syllables = strings.Fields(`ka lo mi ra te su no vi da pe ri to ma ne lu sa fi go be ha ko
ze wa yo ti mo re ga di pu se na bo le chi tha qua pra stro ven dor mel`)

func vocabulary(r *rand.Rand, n int) []string {
	seen := map[string]bool{}
	words := append([]string(nil), common...)
	for _, w := range words {
		seen[w] = true
	}
	for len(words) < n {
		var b strings.Builder
		for k := 1 + r.Intn(3); k >= 0; k-- {
			b.WriteString(syllables[r.Intn(len(syllables))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}

func generate(dir string, files int, total, seed int64) error {
	if files < 1 || total < 1 {
		return fmt.Errorf("need at least one file and one byte")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewSource(seed))
	words := vocabulary(r, 20000)
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(words)-1))
	per := total / int64(files)
	for i := 0; i < files; i++ {
		if err := writeFile(filepath.Join(dir, fmt.Sprintf("sample-%02d.txt", i)), per, words, zipf, r); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, size int64, words []string, zipf *rand.Zipf, r *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var n int64
	for n < size {
		line := make([]string, 6+r.Intn(10))
		for i := range line {
			line[i] = words[zipf.Uint64()]
		}
		line[0] = strings.ToUpper(line[0][:1]) + line[0][1:]
		s := strings.Join(line, " ") + ".\n"
		k, err := w.WriteString(s)
		if err != nil {
			f.Close()
			return err
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
