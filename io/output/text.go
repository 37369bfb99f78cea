package output

import (
	"bufio"
	"io"
)

// textBuffer is the buffer size of a text Writer.
const textBuffer = 64 << 10

// Text writes key<TAB>value lines. Keys and values are written as they
// are: one that holds a tab or newline reads back differently.
type Text struct{}

var _ Format = Text{}

// NewWriter implements Format.
func (Text) NewWriter(w io.Writer) (Writer, error) {
	return &textWriter{bw: bufio.NewWriterSize(w, textBuffer)}, nil
}

type textWriter struct {
	bw     *bufio.Writer
	closed bool
	err    error
}

func (t *textWriter) Write(key, value string) error {
	if t.closed {
		return ErrClosed
	}
	t.bw.WriteString(key)
	t.bw.WriteByte('\t')
	t.bw.WriteString(value)
	// bufio.Writer keeps its first error and repeats it on every later
	// write, so the last one speaks for the record.
	return t.bw.WriteByte('\n')
}

func (t *textWriter) Close() error {
	if !t.closed {
		t.closed = true
		t.err = t.bw.Flush()
	}
	return t.err
}
