package localfs

import "errors"

// Sentinel errors; an error of this package that has one of these causes
// wraps it (test with errors.Is). Errors also wrap storage.ErrNoMatch
// and storage.ErrChanged, and the *os.PathError of a failed open.
var (
	// ErrOutside marks a name whose symlinks lead outside a Beneath
	// root, or that is absolute or has a ".." element.
	ErrOutside = errors.New("leads outside the data dir")
	// ErrBadPattern marks a malformed glob.
	ErrBadPattern = errors.New("not a valid glob")
	// ErrNotRegular marks a name that is neither a regular file nor a
	// directory (List), or not a regular file (Open).
	ErrNotRegular = errors.New("not a regular file")
)

// pathError is an error whose text is written for the user and which
// wraps a sentinel and the cause.
type pathError struct {
	msg  string
	errs []error
}

func (e *pathError) Error() string   { return e.msg }
func (e *pathError) Unwrap() []error { return e.errs }

// newError returns an error saying msg that wraps errs (nil ones dropped).
func newError(msg string, errs ...error) error {
	e := &pathError{msg: msg}
	for _, err := range errs {
		if err != nil {
			e.errs = append(e.errs, err)
		}
	}
	return e
}
