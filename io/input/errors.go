package input

import "errors"

var (
	// ErrUnknownFormat marks a format name no Formats entry has.
	ErrUnknownFormat = errors.New("unknown input format")
	// ErrLineTooLong marks a line longer than the format's limit.
	ErrLineTooLong = errors.New("input line too long")
	// ErrTooLarge marks a wholefile input larger than its limit.
	ErrTooLarge = errors.New("input too large")
	// ErrSplitSize marks a staged split whose size differs from the
	// Length its config announced.
	ErrSplitSize = errors.New("input split size mismatch")
)

// ErrCorrupt marks a .gz or .zst input whose compressed data does not
// decode: corrupt or truncated. Reading the same bytes again fails again.
var ErrCorrupt = errors.New("corrupt compressed input")
