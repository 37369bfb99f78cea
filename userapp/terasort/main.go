// Command terasort sorts teragen's 100-byte records by their 10-byte key,
// ties by the rest of the record, so that a job gives the same bytes
// every time. Run it with --total-order so that cat part-* is the sorted
// file, and check it with teravalidate:
//
//	dist build ./userapp/terasort -o terasort
//	dist run --app terasort --input 'tera-in/part-*' --output tera-out \
//	    --reduces 4 --total-order --local 2
//
// The key starts the record, so ordering records by key and then by the
// rest is ordering whole lines in byte order: this is userapp/sort's job,
// and terasort works the same way (the line is the shuffle key, dist's
// sort and merge do all the work). It differs in two things. It refuses
// a line that is not a record, as a fatal error naming the file and
// byte, rather than sorting whatever it is given. And it writes a record
// as teragen does, key<TAB>rest in the standard text format, so it
// needs no output format of its own: the output holds exactly the input's
// 100-byte records.
package main

import (
	"fmt"

	"github.com/distmr/dist/task"
)

// App is the sort; a plugin host looks it up by this name.
var App = task.App{Map: lineAsKey, Reduce: eachOccurrence}

func main() { task.Main(App) }

const (
	// lineSize is a record's length without its newline.
	lineSize = 99
	// keySize is the length of the key that starts a record; a TAB
	// follows it.
	keySize = 10
)

// lineAsKey emits the whole record as the key, so that ties on the
// 10-byte key are ordered by the rest; offset is the line's byte offset.
func lineAsKey(ctx *task.Context, offset, line string, emit task.Emit) error {
	if len(line) != lineSize || line[keySize] != '\t' {
		return task.Fatal(fmt.Errorf("%s byte %s: %q is not a teragen record (%d bytes and a newline, a TAB after the %d-byte key): terasort sorts teragen's output",
			ctx.InputFile(), offset, clip(line), lineSize, keySize))
	}
	emit(line, "")
	return nil
}

// eachOccurrence writes a record once per time the input held it, split
// where the text format puts its TAB back.
func eachOccurrence(_ *task.Context, line string, occurrences task.Values, emit task.Emit) error {
	for range occurrences {
		emit(line[:keySize], line[keySize+1:])
	}
	return nil
}

// clip shortens a line quoted in an error.
func clip(line string) string {
	if len(line) > 60 {
		return line[:60] + "…"
	}
	return line
}
