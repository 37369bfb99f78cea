// Command baseline-wordcount is the single-process word count that
// `make bench` measures dist against: it reads the files named on the
// command line line by line, counts words with exactly the tokenizer of
// userapp/wordcount (lower-cased runs of letters and digits) in one map,
// and writes word<TAB>count lines, sorted by word, to -o (stdout by
// default). No framework, no goroutines: the yardstick.
//
//	go run ./scripts/baseline-wordcount -o counts.txt build/sample/*.txt
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// words is userapp/wordcount's tokenizer, copied: keep the two the same
// (the benchmark checks that both count every word alike).
func words(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

// maxLine matches dist's text input limit (io/input.DefaultMaxLine).
const maxLine = 64 << 20

func main() {
	out := flag.String("o", "", "output file (default stdout)")
	flag.Parse()
	if err := run(flag.Args(), *out); err != nil {
		fmt.Fprintln(os.Stderr, "baseline-wordcount:", err)
		os.Exit(1)
	}
}

func run(files []string, out string) error {
	if len(files) == 0 {
		return fmt.Errorf("name the input files")
	}
	counts := map[string]int64{}
	for _, path := range files {
		if err := count(path, counts); err != nil {
			return err
		}
	}
	w := io.Writer(os.Stdout)
	var f *os.File
	if out != "" {
		var err error
		if f, err = os.Create(out); err != nil {
			return err
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, word := range slices.SortedFunc(maps.Keys(counts), cmp.Compare) {
		bw.WriteString(word)
		bw.WriteByte('\t')
		bw.WriteString(strconv.FormatInt(counts[word], 10))
		bw.WriteByte('\n')
	}
	err := bw.Flush()
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func count(path string, counts map[string]int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		for _, w := range words(sc.Text()) {
			counts[w]++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
