// Command stopwords counts the words of its input, as userapp/wordcount
// does, leaving out the words of a stop-word list shipped with the job as
// a side file. The list is text: every word in it (split and lower-cased
// as the input is) is left out.
//
//	dist build ./userapp/stopwords -o stopwords
//	dist run --app stopwords --file stopwords.txt --input 'books/*.txt' --output counts --local 2
//
// --param list=NAME names the side file; it defaults to stopwords.txt.
package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/distmr/dist/task"
)

// App is the word count without stop words.
var App = task.App{
	Setup:   loadStopWords,
	Map:     countWords,
	Combine: sumCounts,
	Reduce:  sumCounts,
}

func main() { task.Main(App) }

// words splits a line into lower-cased runs of letters and digits.
func words(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

// loadStopWords reads the side file into the task's state (maps only).
func loadStopWords(ctx *task.Context) error {
	if ctx.Phase() != task.PhaseMap {
		return nil
	}
	name := ctx.Param("list")
	if name == "" {
		name = "stopwords.txt"
	}
	f, err := ctx.File(name)
	if err != nil {
		return err
	}
	defer f.Close()
	stop := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, w := range words(sc.Text()) {
			stop[w] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	ctx.SetState(stop)
	return nil
}

func countWords(ctx *task.Context, _, line string, emit task.Emit) error {
	stop := ctx.State().(map[string]bool)
	for _, w := range words(line) {
		if !stop[w] {
			emit(w, "1")
		}
	}
	return nil
}

// sumCounts adds up a word's counts; it is both Combine and Reduce.
func sumCounts(_ *task.Context, word string, counts task.Values, emit task.Emit) error {
	var total int64
	for c := range counts {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return fmt.Errorf("count %q of word %q is not a number", c, word)
		}
		total += n
	}
	emit(word, strconv.FormatInt(total, 10))
	return nil
}
