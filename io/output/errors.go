package output

import "errors"

var (
	// ErrUnknownFormat marks a format name no Formats entry has.
	ErrUnknownFormat = errors.New("unknown output format")
	// ErrClosed is returned by a Writer used after Close.
	ErrClosed = errors.New("output writer is closed")
)
