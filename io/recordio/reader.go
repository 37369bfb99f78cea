package recordio

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// readBuffer is the size of a Reader's buffer unless NewReaderSize says
// otherwise.
const readBuffer = 64 << 10

// growStep bounds how much a Reader allocates ahead of the bytes it has
// actually read, so a length field that lies costs little.
const growStep = 1 << 20

// Reader streams records from an io.Reader.
type Reader struct {
	// MaxRecord bounds len(key)+len(value) of one record; a bigger one is
	// refused with ErrTooLarge before anything is allocated for it. Set it
	// before the first Next. Zero means DefaultMaxRecord.
	MaxRecord int

	br      *bufio.Reader
	key     []byte
	value   []byte
	records int64
	offset  int64
	err     error
}

// NewReader returns a Reader with a 64 KiB buffer.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, readBuffer) }

// NewReaderSize returns a Reader with a buffer of at least size bytes; a
// merge of many files uses small buffers.
func NewReaderSize(r io.Reader, size int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, size)}
}

// Next returns the next record. The slices are valid until the next call.
// At a clean end of input it returns io.EOF; a file that ends inside a
// record gives ErrTruncated, a record over the limit ErrTooLarge, and
// garbage lengths ErrCorrupt, each naming the record and byte offset.
// Errors are sticky.
func (r *Reader) Next() (key, value []byte, err error) {
	if r.err != nil {
		return nil, nil, r.err
	}
	key, value, err = r.next()
	if err != nil {
		r.err = err
		return nil, nil, err
	}
	r.records++
	return key, value, nil
}

func (r *Reader) next() (key, value []byte, err error) {
	limit := uint64(maxRecord(r.MaxRecord))
	if key, value, ok := r.buffered(limit); ok {
		return key, value, nil
	}
	start := r.offset
	klen, err := r.uvarint()
	if err == io.EOF {
		return nil, nil, io.EOF // a clean end: between records
	}
	if err != nil {
		return nil, nil, r.fail(err, start, "key length")
	}
	if klen > limit {
		return nil, nil, r.tooLarge(start, klen)
	}
	if r.key, err = r.bytes(r.key, int(klen)); err != nil {
		return nil, nil, r.fail(err, start, "key")
	}
	vlen, err := r.uvarint()
	if err != nil {
		return nil, nil, r.fail(err, start, "value length")
	}
	if vlen > limit-klen {
		return nil, nil, r.tooLarge(start, klen+vlen)
	}
	if r.value, err = r.bytes(r.value, int(vlen)); err != nil {
		return nil, nil, r.fail(err, start, "value")
	}
	return r.key, r.value, nil
}

// buffered returns the next record straight from the read buffer, with
// no copy, when all of it is there and within limit; otherwise it reads
// nothing and next takes the slow path, which also reports what is wrong.
// The slices stay valid until the buffer is next read into, which is not
// before the next call.
func (r *Reader) buffered(limit uint64) (key, value []byte, ok bool) {
	buf, _ := r.br.Peek(r.br.Buffered())
	klen, n := binary.Uvarint(buf)
	if n <= 0 || klen > limit || klen > uint64(len(buf)-n) {
		return nil, nil, false
	}
	key, buf = buf[n:n+int(klen):n+int(klen)], buf[n+int(klen):]
	vlen, m := binary.Uvarint(buf)
	if m <= 0 || vlen > limit-klen || vlen > uint64(len(buf)-m) {
		return nil, nil, false
	}
	value = buf[m : m+int(vlen) : m+int(vlen)]
	size := n + int(klen) + m + int(vlen)
	r.br.Discard(size) // buffered: cannot fail
	r.offset += int64(size)
	return key, value, true
}

// Records returns the number of records read so far.
func (r *Reader) Records() int64 { return r.records }

// Offset returns the number of bytes consumed so far: at io.EOF, the size
// of the input.
func (r *Reader) Offset() int64 { return r.offset }

func (r *Reader) uvarint() (uint64, error) {
	var x uint64
	for i := 0; ; i++ {
		b, err := r.br.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		r.offset++
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, errOverflow
		}
		x |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return x, nil
		}
	}
}

// bytes reads exactly n bytes into buf. A buffer too small for n grows by
// doubling what has actually arrived (from growStep), never past n, so a
// length field larger than the remaining input allocates little.
func (r *Reader) bytes(buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), growStep)))
			copy(grown, buf)
			buf = grown
		}
		got, err := io.ReadFull(r.br, buf[len(buf):min(cap(buf), n)])
		r.offset += int64(got)
		buf = buf[:len(buf)+got]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func (r *Reader) fail(err error, start int64, part string) error {
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("%w: record %d at byte %d: input ends inside the %s at byte %d: the file was cut short",
			ErrTruncated, r.records, start, part, r.offset)
	case err == errOverflow:
		return fmt.Errorf("%w: record %d at byte %d: %s %v: this is not a recordio file",
			ErrCorrupt, r.records, start, part, err)
	default:
		return fmt.Errorf("recordio: record %d at byte %d: reading the %s: %w", r.records, start, part, err)
	}
}

func (r *Reader) tooLarge(start int64, size uint64) error {
	return fmt.Errorf("%w: record %d at byte %d claims %d bytes, limit %d: the file is corrupt or was written with a larger limit",
		ErrTooLarge, r.records, start, size, maxRecord(r.MaxRecord))
}
