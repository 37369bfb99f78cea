package proto

import (
	"errors"
	"fmt"
)

// Error codes sent over the wire (see docs/PROTOCOL.md).
const (
	CodeBadRequest   = "bad_request"
	CodeVersion      = "version"
	CodeAuth         = "auth"
	CodeNotFound     = "not_found"
	CodeChecksum     = "checksum"
	CodeTooLarge     = "too_large"
	CodeBusy         = "busy"
	CodeUnsupported  = "unsupported"
	CodeFetchFailed  = "fetch_failed"
	CodeTaskFailed   = "task_failed"
	CodeShuttingDown = "shutting_down"
	CodeInternal     = "internal"
	// CodeNotHere: the worker cannot read a client-local input in place
	// (another host, another mount namespace, the file not visible): the
	// client sends the split instead (PutInput). Not a failure.
	CodeNotHere = "not_here"
	// CodeInputChanged: an input is not as the job listed it (size,
	// modification time or ETag differ, or it is gone). No retry helps:
	// the job fails, naming the input.
	CodeInputChanged = "input_changed"
	// CodeStorage: the storage an input or output lives in refused or
	// failed (wrong credentials, a missing bucket, the endpoint down);
	// Retryable says whether another attempt may fare better.
	CodeStorage = "storage"
)

// Sentinel errors for failures detected locally.
var (
	ErrFrameTooLarge = errors.New("frame too large")
	ErrEmptyFrame    = errors.New("empty frame")
	ErrBodyTooLarge  = errors.New("body too large")
	ErrAuth          = errors.New("authentication failed")
	ErrVersion       = errors.New("protocol version mismatch")
)

// Error is a failure reported by the peer. Message is one line naming the
// cause; Retryable says whether the same call may succeed elsewhere or later.
type Error struct {
	Code      string `msgpack:"code"`
	Message   string `msgpack:"message"`
	Retryable bool   `msgpack:"retryable"`
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

// Err returns e as an error, or nil when e is nil: a nil *Error returned
// as an error would be a non-nil error holding a nil pointer.
func (e *Error) Err() error {
	if e == nil {
		return nil
	}
	return e
}

// Errorf builds a non-retryable wire error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Retryablef builds a retryable wire error.
func Retryablef(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: true}
}

// ToError converts any error into a wire error, keeping a *Error as it is.
func ToError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}

// IsCode reports whether err is a wire error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// IsAuth reports whether err is a failed authentication, seen by this
// side (ErrAuth) or reported by the peer (CodeAuth).
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) || IsCode(err, CodeAuth) }
