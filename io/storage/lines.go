package storage

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// LineRange reads the lines a split owns from a stream (see the package
// comment): OwnedLines makes one.
type LineRange struct {
	r        *bufio.Reader
	pos, end int64 // object offsets: of the next byte r yields, of the range's end
	start    int64
	skipped  bool
	atLine   bool   // the last byte yielded ended a line (or none was yielded)
	pending  []byte // the rest of a slice of r's buffer, being finished
	done     bool
}

// OwnedLines returns the lines of an object that start inside [off,
// off+length). r must yield the object's bytes from max(off-1, 0) on, to
// its end or at least past the end of the last such line (an open-ended
// range request). The bytes yielded are the lines exactly, newlines
// included; Start says where the first one begins in the object.
func OwnedLines(r io.Reader, off, length int64) *LineRange {
	l := &LineRange{r: bufio.NewReaderSize(r, 64<<10), pos: off, start: off, end: off + length, atLine: true}
	if off > 0 {
		l.pos = off - 1 // the byte before tells whether a line starts at off
	} else {
		l.skipped = true
	}
	return l
}

// Start is the object offset of the first byte Read yields (once Read has
// been called; until then, the range's start).
func (l *LineRange) Start() int64 { return l.start }

func (l *LineRange) Read(p []byte) (int, error) {
	if !l.skipped {
		l.skipped = true
		err := l.skipPartialLine()
		l.start = l.pos
		if err != nil {
			l.done = true
			return 0, err
		}
	}
	switch {
	case len(l.pending) > 0:
		return l.yield(p, copy(p, l.pending)), nil
	case l.done || l.atLine && l.pos >= l.end:
		l.done = true
		return 0, io.EOF
	case l.pos < l.end:
		// Every byte before the end belongs to a line that starts inside.
		n, err := l.r.Read(p[:min(int64(len(p)), l.end-l.pos)])
		l.yield(p, n)
		if err == io.EOF {
			l.done = true
			if n > 0 {
				err = nil
			}
		}
		return n, err
	}
	// Past the end: finish the line that started inside.
	b, err := l.r.ReadSlice('\n')
	switch {
	case err == io.EOF:
		l.done = true
	case err != nil && !errors.Is(err, bufio.ErrBufferFull):
		return 0, err
	}
	if len(b) == 0 {
		return 0, io.EOF
	}
	l.pending = b
	return l.yield(p, copy(p, b)), nil
}

// yield accounts for the n bytes just put in p, from pending if set.
func (l *LineRange) yield(p []byte, n int) int {
	if len(l.pending) > 0 {
		l.pending = l.pending[n:]
	}
	l.pos += int64(n)
	if n > 0 {
		l.atLine = p[n-1] == '\n'
	}
	return n
}

// skipPartialLine reads through the first newline: the line it ends began
// before the range (or is the byte before it) and is not the split's. It
// returns io.EOF when no line starts inside the range's object.
func (l *LineRange) skipPartialLine() error {
	for {
		b, err := l.r.ReadSlice('\n')
		l.pos += int64(len(b))
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return err
		}
		return nil
	}
}

// Cut returns the byte range [start, end) of the lines that start inside
// [off, off+length) of a file of size bytes: the same lines OwnedLines
// yields, found by reading a little at each edge. start == end when the
// range owns no line.
func Cut(ra io.ReaderAt, size, off, length int64) (start, end int64, err error) {
	if start, err = lineStart(ra, size, off); err != nil {
		return 0, 0, err
	}
	if end, err = lineStart(ra, size, off+length); err != nil {
		return 0, 0, err
	}
	return start, max(start, end), nil
}

// lineStart returns the first offset at or after at where a line starts
// (size when none does).
func lineStart(ra io.ReaderAt, size, at int64) (int64, error) {
	if at <= 0 {
		return 0, nil
	}
	if at >= size {
		return size, nil
	}
	buf := make([]byte, 64<<10)
	for pos := at - 1; pos < size; {
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i) + 1, nil
		}
		pos += int64(n)
		if err != nil && err != io.EOF {
			return 0, err
		}
		if n == 0 {
			break // the file is shorter than it was said to be
		}
	}
	return size, nil
}
