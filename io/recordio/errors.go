package recordio

import "errors"

var (
	// ErrTruncated marks a file that ends inside a record: it was cut short
	// in transit or on disk.
	ErrTruncated = errors.New("recordio: truncated record")
	// ErrTooLarge marks a record whose key and value together exceed the
	// reader's or writer's MaxRecord.
	ErrTooLarge = errors.New("recordio: record too large")
	// ErrCorrupt marks bytes that are not a record at all, such as a length
	// that overflows 64 bits.
	ErrCorrupt = errors.New("recordio: corrupt record")
	// ErrClosed is returned by a Writer used after Close.
	ErrClosed = errors.New("recordio: writer is closed")
)

// errOverflow is the cause inside ErrCorrupt for a varint over 64 bits.
var errOverflow = errors.New("length overflows 64 bits")
