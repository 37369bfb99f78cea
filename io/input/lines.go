package input

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineBuffer is the read buffer of a line reader; longer lines are
// assembled in a separate buffer up to the line limit.
const lineBuffer = 64 << 10

// lines reads a split line by line, tracking each line's position.
type lines struct {
	f     io.ReadCloser
	br    *bufio.Reader
	split Split
	max   int
	pos   int64 // bytes consumed from the split
	long  []byte
	err   error
}

func openLines(s Split, max int) (*lines, error) {
	f, _, err := open(s)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		max = DefaultMaxLine
	}
	return &lines{f: f, br: bufio.NewReaderSize(f, lineBuffer), split: s, max: max}, nil
}

// next returns the next line without its "\n" or "\r\n" and the line's
// position in the split. The slice is valid until the next call. A last
// line without a newline counts; io.EOF follows it.
func (l *lines) next() (line []byte, start int64, err error) {
	if l.err != nil {
		return nil, 0, l.err
	}
	start = l.pos
	l.long = l.long[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		l.pos += int64(len(chunk))
		switch err {
		case nil:
			if len(l.long) > 0 {
				chunk = append(l.long, chunk...)
				l.long = chunk
			}
			return l.check(trim(chunk), start)
		case bufio.ErrBufferFull:
			l.long = append(l.long, chunk...)
			if len(l.long) > l.max {
				return l.fail(l.tooLong(start))
			}
		case io.EOF:
			chunk = append(l.long, chunk...)
			l.long = chunk
			if len(chunk) == 0 {
				return l.fail(io.EOF)
			}
			return l.check(trim(chunk), start)
		default:
			if errors.Is(err, ErrCorrupt) {
				return l.fail(err) // it names the file
			}
			return l.fail(fmt.Errorf("read %s: %w", l.split.Name, err))
		}
	}
}

func (l *lines) check(line []byte, start int64) ([]byte, int64, error) {
	if len(line) > l.max {
		return l.fail(l.tooLong(start))
	}
	return line, start, nil
}

func (l *lines) fail(err error) ([]byte, int64, error) {
	l.err = err
	return nil, 0, err
}

func (l *lines) tooLong(start int64) error {
	return fmt.Errorf("%w: the line at byte %d of %s is longer than %d bytes: break the input into shorter lines or read it with --input-format wholefile",
		ErrLineTooLong, l.split.Offset+start, l.split.Name, l.max)
}

func (l *lines) Close() error { return l.f.Close() }

// trim drops a trailing "\n" and then a trailing "\r".
func trim(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}
