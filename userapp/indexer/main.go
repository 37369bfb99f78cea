// Command indexer builds an inverted index: for each word, the input files
// it occurs in. It writes word<TAB><n> <file1>,<file2>,... lines, where n
// is the number of distinct files and the names are sorted. Words are
// lower-cased runs of letters and digits, as in wordcount.
//
//	dist run --app indexer --input 'docs/*.txt' --output index --reduces 2 --local 2
package main

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/distmr/dist/task"
)

// App is the indexer; a plugin host looks it up by this name.
var App = task.App{
	Map:     fileOfWord,
	Combine: distinctFiles,
	Reduce:  index,
}

func main() { task.Main(App) }

// words splits a line into lower-cased runs of letters and digits.
func words(line string) []string {
	return strings.FieldsFunc(strings.ToLower(line), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}

func fileOfWord(ctx *task.Context, _, line string, emit task.Emit) error {
	for _, w := range words(line) {
		emit(w, ctx.InputFile())
	}
	return nil
}

// distinctFiles drops repeats of a file name on the map side.
func distinctFiles(_ *task.Context, word string, files task.Values, emit task.Emit) error {
	for _, f := range distinct(files) {
		emit(word, f)
	}
	return nil
}

func index(_ *task.Context, word string, files task.Values, emit task.Emit) error {
	names := distinct(files)
	emit(word, strconv.Itoa(len(names))+" "+strings.Join(names, ","))
	return nil
}

// distinct returns the distinct values, sorted.
func distinct(values task.Values) []string {
	seen := map[string]bool{}
	for v := range values {
		seen[v] = true
	}
	return slices.Sorted(maps.Keys(seen))
}
