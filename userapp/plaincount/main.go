// Command plaincount counts words the way a first MapReduce program does:
// Map emits (word, "1") for every word and Reduce counts the values. It
// has no Combine, so every pair goes through the shuffle — 17 million of
// them for 100 MB of text. It is here to measure what the framework
// itself costs a job that really shuffles (make bench); for real counting
// use userapp/wordcount, whose Combine sums counts before the shuffle.
//
// A word is what userapp/wordcount counts: a maximal run of letters and
// digits, lower-cased, so the two give the same output.
//
//	dist build ./userapp/plaincount -o plaincount
//	dist run --app plaincount --input 'books/*.txt' --output counts --reduces 4 --local 2
package main

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/distmr/dist/task"
)

// App is the word count without a Combine.
var App = task.App{
	Map:    emitWords,
	Reduce: countOnes,
}

func main() { task.Main(App) }

func emitWords(_ *task.Context, _, line string, emit task.Emit) error {
	words := strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	for _, w := range words {
		emit(w, "1")
	}
	return nil
}

// countOnes counts a word's values: each is one occurrence.
func countOnes(_ *task.Context, word string, ones task.Values, emit task.Emit) error {
	n := 0
	for range ones {
		n++
	}
	emit(word, strconv.Itoa(n))
	return nil
}
