package proto

import (
	"fmt"
	"io"
)

// ReadBody copies exactly size bytes from r to w, refusing a size above
// limit before reading anything.
func ReadBody(w io.Writer, r io.Reader, size, limit int64) error {
	if size < 0 || size > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, size, limit)
	}
	n, err := io.CopyBuffer(w, io.LimitReader(r, size), make([]byte, 256<<10))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("body ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
	}
	return nil
}
