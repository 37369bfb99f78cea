// Command sort writes the lines of its input in byte order, as
// `LC_ALL=C sort` does, each as many times as it occurs. Run it with
// --total-order for parts that follow one another (cat part-* is sorted):
//
//	dist build ./userapp/sort -o sort
//	dist run --app sort --input 'data/*.txt' --output sorted --reduces 4 --total-order --local 2
//
// Without --total-order each part is sorted on its own, but keys are
// spread over the parts by hash. Lines are read as the text input reads them,
// without "\n" or "\r\n", and written ending in "\n".
//
// The line itself is the key, so dist's sort and merge do all the work;
// the value is empty, and the output format writes such a record as the
// bare line.
package main

import (
	"bufio"
	"io"

	"github.com/distmr/dist/io/output"
	"github.com/distmr/dist/task"
)

// App is the sort; a plugin host looks it up by this name.
var App = task.App{
	Map:    lineAsKey,
	Reduce: eachOccurrence,
	// dist run writes parts in the "text" format, which puts a tab after
	// every key: this app's text leaves it out when there is no value.
	OutputFormats: output.Formats{"text": lines{}},
}

func main() { task.Main(App) }

// lineAsKey emits the line as the key; the offset is dropped.
func lineAsKey(_ *task.Context, _, line string, emit task.Emit) error {
	emit(line, "")
	return nil
}

// eachOccurrence writes a line once per time the input held it.
func eachOccurrence(_ *task.Context, line string, occurrences task.Values, emit task.Emit) error {
	for range occurrences {
		emit(line, "")
	}
	return nil
}

// lines is text output in which a record with an empty value is its key
// alone: key<NEWLINE>; any other record is key<TAB>value<NEWLINE>.
type lines struct{}

var _ output.Format = lines{}

// NewWriter implements output.Format.
func (lines) NewWriter(w io.Writer) (output.Writer, error) {
	return &lineWriter{bw: bufio.NewWriterSize(w, 64<<10)}, nil
}

type lineWriter struct {
	bw     *bufio.Writer
	closed bool
	err    error
}

func (l *lineWriter) Write(key, value string) error {
	if l.closed {
		return output.ErrClosed
	}
	l.bw.WriteString(key)
	if value != "" {
		l.bw.WriteByte('\t')
		l.bw.WriteString(value)
	}
	// bufio.Writer keeps its first error and repeats it on every later
	// write, so the last one speaks for the record.
	return l.bw.WriteByte('\n')
}

func (l *lineWriter) Close() error {
	if !l.closed {
		l.closed = true
		l.err = l.bw.Flush()
	}
	return l.err
}
