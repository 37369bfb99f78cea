// Command wordcount counts the words of its input: it writes one
// word<TAB>count line per distinct word. A word is a maximal run of
// letters and digits, lower-cased.
//
//	dist build ./userapp/wordcount -o wordcount
//	dist run --app wordcount --input 'books/*.txt' --output counts --reduces 4 --local 2
//
// The same source builds as a plugin (dist build --plugin), which exports
// App.
package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/distmr/dist/task"
)

// App is the word count; a plugin host looks it up by this name.
var App = task.App{
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

func countWords(_ *task.Context, _, line string, emit task.Emit) error {
	for _, w := range words(line) {
		emit(w, "1")
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
