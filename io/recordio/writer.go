package recordio

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// DefaultMaxRecord is the largest key plus value a Reader or Writer accepts
// when its MaxRecord is zero: 64 MiB.
const DefaultMaxRecord = 64 << 20

// writeBuffer is the size of a Writer's buffer.
const writeBuffer = 64 << 10

// Writer appends records to an io.Writer through a buffer. It counts the
// records and bytes it accepted and the CRC-32C of the bytes it flushed.
// The first error is sticky: every later call returns it.
type Writer struct {
	// MaxRecord bounds len(key)+len(value) of one record; a bigger record
	// is refused with ErrTooLarge so that no Reader will choke on it later.
	// Zero means DefaultMaxRecord.
	MaxRecord int

	buf     []byte // records not yet flushed; its capacity is writeBuffer
	sum     *crcWriter
	closer  io.Closer // the file Create opened; nil for NewWriter
	records int64
	size    int64
	err     error
	closed  bool
}

// NewWriter returns a Writer appending to w. Close flushes the buffer but
// does not close w.
func NewWriter(w io.Writer) *Writer {
	sum := &crcWriter{w: w, table: crc32.MakeTable(crc32.Castagnoli)}
	return &Writer{buf: make([]byte, 0, writeBuffer), sum: sum}
}

// Create creates (or truncates) the file at path and returns a Writer that
// owns it: Close flushes and closes the file.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := NewWriter(f)
	w.closer = f
	return w, nil
}

// Write appends one record. The slices are not retained.
func (w *Writer) Write(key, value []byte) error { return write(w, key, value) }

// WriteString appends one record given as strings, without copying them.
func (w *Writer) WriteString(key, value string) error { return write(w, key, value) }

// write is Write and WriteString: a record that fits goes into the
// buffer in one go; a bigger one goes through it in pieces.
func write[T string | []byte](w *Writer, key, value T) error {
	if err := w.begin(len(key), len(value)); err != nil {
		return err
	}
	if w.fits(len(key), len(value)) {
		w.buf = binary.AppendUvarint(w.buf, uint64(len(key)))
		w.buf = append(w.buf, key...)
		w.buf = binary.AppendUvarint(w.buf, uint64(len(value)))
		w.buf = append(w.buf, value...)
		return w.end(len(key), len(value))
	}
	w.putLen(len(key))
	put(w, key)
	w.putLen(len(value))
	put(w, value)
	return w.end(len(key), len(value))
}

func (w *Writer) begin(klen, vlen int) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if limit := maxRecord(w.MaxRecord); klen+vlen > limit {
		return fmt.Errorf("%w: key %d + value %d bytes exceeds the %d-byte limit", ErrTooLarge, klen, vlen, limit)
	}
	return nil
}

// fits makes room in the buffer for a record, flushing it if need be, and
// reports whether the whole record fits; a record bigger than the buffer
// is written through put instead.
func (w *Writer) fits(klen, vlen int) bool {
	n := klen + vlen + 2*binary.MaxVarintLen64
	if len(w.buf)+n <= cap(w.buf) {
		return true
	}
	w.flush()
	return n <= cap(w.buf)
}

func (w *Writer) putLen(n int) {
	var scratch [binary.MaxVarintLen64]byte
	put(w, binary.AppendUvarint(scratch[:0], uint64(n)))
}

// put appends p through the buffer, writing the full buffer out as it
// fills. An error is kept in w.err.
func put[T string | []byte](w *Writer, p T) {
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.flush()
			continue
		}
		n := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:n]...)
		p = p[n:]
	}
}

// flush writes the buffer out; the first error sticks in w.err.
func (w *Writer) flush() {
	if w.err != nil || len(w.buf) == 0 {
		return
	}
	n, err := w.sum.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	w.buf = w.buf[:0]
	w.err = err
}

// end counts one record whose writes went into the buffer or out, or
// reports the error on the way: the first error sticks, so the last
// write's covers the whole record.
func (w *Writer) end(klen, vlen int) error {
	if w.err != nil {
		return w.err
	}
	w.size += int64(uvarintLen(klen) + klen + uvarintLen(vlen) + vlen)
	w.records++
	return nil
}

// uvarintLen is the length of n as a uvarint.
func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}

// Records returns the number of records written so far.
func (w *Writer) Records() int64 { return w.records }

// Size returns the number of bytes written so far, buffered ones included;
// it is the file's size once Close succeeds.
func (w *Writer) Size() int64 { return w.size }

// CRC32C returns the CRC-32C (Castagnoli) of the bytes flushed so far:
// of the whole file after a successful Flush or Close.
func (w *Writer) CRC32C() uint32 { return w.sum.crc }

// Flush writes buffered records to the underlying writer.
func (w *Writer) Flush() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	w.flush()
	return w.err
}

// Close flushes the buffer and, for a Writer from Create, closes the file.
// It returns the first error the Writer met, so a lost write is never
// silent. Calling Close again returns the same result.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	w.flush()
	if w.closer != nil {
		if err := w.closer.Close(); w.err == nil {
			w.err = err
		}
	}
	return w.err
}

// crcWriter sits under the buffer: it sums and forwards what is flushed.
type crcWriter struct {
	w     io.Writer
	table *crc32.Table // Castagnoli; crc32 makes it once and shares it
	crc   uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.crc = crc32.Update(c.crc, c.table, p[:n])
	return n, err
}

func maxRecord(n int) int {
	if n <= 0 {
		return DefaultMaxRecord
	}
	return n
}
