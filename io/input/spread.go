package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spread cuts a split of lines into at most n splits that begin at the
// first line starting at or after each of n points spread evenly through
// it, and run to its end, so that a sampler can read a little from each
// instead of the whole split. Each is read by Text or KV as the whole
// split would be, with the same keys. Spread returns no splits for a
// compressed input, which cannot be entered in the middle; release closes
// the file it opened, if any.
func Spread(s Split, n int) (parts []Split, release func() error, err error) {
	if Compressed(s.Name) || n < 1 {
		return nil, func() error { return nil }, nil
	}
	src, size, release, err := sourceOf(s)
	if err != nil {
		return nil, nil, err
	}
	for i := range int64(n) {
		at, next := i*size/int64(n), (i+1)*size/int64(n)
		start, err := lineStart(src, s, at, next)
		if err != nil {
			release()
			return nil, nil, err
		}
		if start >= next {
			continue // no line starts between this point and the next
		}
		parts = append(parts, Split{Source: src, Name: s.Name, Offset: s.Offset + start, Length: size - start})
	}
	return parts, release, nil
}

// sourceOf returns a split's bytes as a Source, at their places in the
// original file, and their number.
func sourceOf(s Split) (src io.ReaderAt, size int64, release func() error, err error) {
	if s.Source != nil {
		return s.Source, s.Length, func() error { return nil }, nil
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, 0, nil, err
	}
	size, err = stagedSize(f, s)
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return shifted{f, s.Offset}, size, f.Close, nil
}

// shifted reads a staged split, which holds the original file's bytes
// from base on, at their places in the original.
type shifted struct {
	f    *os.File
	base int64
}

func (s shifted) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off-s.base) }

// lineStart returns the position in s, which src holds, of the first line
// that starts in [at, limit): at itself when the byte before it ends a
// line, otherwise just after the next "\n"; limit when none does. It reads
// no further than limit, so that Spread reads each byte at most once
// however long the lines are.
func lineStart(src io.ReaderAt, s Split, at, limit int64) (int64, error) {
	if at == 0 {
		return 0, nil
	}
	buf := make([]byte, 4<<10)
	for pos := at - 1; pos < limit-1; {
		n, err := src.ReadAt(buf[:min(int64(len(buf)), limit-1-pos)], s.Offset+pos)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return pos + int64(i) + 1, nil
		}
		pos += int64(n)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("%w: %s ends at byte %d, inside the split that starts at byte %d: it changed while the task read it",
				ErrSplitSize, s.Name, s.Offset+pos, s.Offset)
		}
	}
	return limit, nil
}
