package recordio

import (
	"bufio"
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

	bw      *bufio.Writer
	sum     *crcWriter
	closer  io.Closer // the file Create opened; nil for NewWriter
	records int64
	size    int64
	scratch [binary.MaxVarintLen64]byte
	err     error
	closed  bool
}

// NewWriter returns a Writer appending to w. Close flushes the buffer but
// does not close w.
func NewWriter(w io.Writer) *Writer {
	sum := &crcWriter{w: w, table: crc32.MakeTable(crc32.Castagnoli)}
	return &Writer{bw: bufio.NewWriterSize(sum, writeBuffer), sum: sum}
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
func (w *Writer) Write(key, value []byte) error {
	if err := w.begin(len(key), len(value)); err != nil {
		return err
	}
	w.putLen(len(key))
	_, err := w.bw.Write(key)
	w.putLen(len(value))
	if _, e := w.bw.Write(value); err == nil {
		err = e
	}
	return w.end(err)
}

// WriteString appends one record given as strings, without copying them.
func (w *Writer) WriteString(key, value string) error {
	if err := w.begin(len(key), len(value)); err != nil {
		return err
	}
	w.putLen(len(key))
	_, err := w.bw.WriteString(key)
	w.putLen(len(value))
	if _, e := w.bw.WriteString(value); err == nil {
		err = e
	}
	return w.end(err)
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

func (w *Writer) putLen(n int) {
	k := binary.PutUvarint(w.scratch[:], uint64(n))
	w.bw.Write(w.scratch[:k]) // an error here repeats on the record's last write
	w.size += int64(k + n)
}

// end records the outcome of one record's writes. bufio.Writer keeps its
// first error and fails every later write with it, so the last write's
// error covers the whole record.
func (w *Writer) end(err error) error {
	if err != nil {
		w.err = err
		return err
	}
	w.records++
	return nil
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
	w.err = w.bw.Flush()
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
	if w.err == nil {
		w.err = w.bw.Flush()
	}
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
