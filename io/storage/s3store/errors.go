package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
)

// Sentinel errors; every error the Store returns that has one of these
// causes wraps it (test with errors.Is).
var (
	// ErrNoMatch marks an --input URL that names no object. It wraps
	// storage.ErrNoMatch.
	ErrNoMatch error = &kindError{"no S3 object matches", storage.ErrNoMatch}
	// ErrChanged marks an object that changed or was deleted after it was
	// listed: reading on would mix two versions into one answer. It
	// wraps storage.ErrChanged.
	ErrChanged error = &kindError{"S3 object changed since it was listed", storage.ErrChanged}
	// ErrNotExist marks a missing object (Get).
	ErrNotExist = errors.New("S3 object does not exist")
	// ErrLocked marks an output held by a live job.
	ErrLocked = errors.New("S3 output in use")
	// ErrNoBucket marks a bucket the store does not have.
	ErrNoBucket = errors.New("S3 bucket does not exist")
	// ErrAuth marks credentials the store refused. It is never retried.
	ErrAuth = errors.New("S3 refused the credentials")
	// ErrUnreachable marks an endpoint that did not answer, after retries.
	ErrUnreachable = errors.New("S3 endpoint unreachable")
)

// kindError is a sentinel that is also one of storage's.
type kindError struct {
	msg string
	of  error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.of }

// storeError is an error whose text is written for the user and which
// wraps a sentinel and the cause (a minio.ErrorResponse, a net error).
type storeError struct {
	msg  string
	errs []error
}

func (e *storeError) Error() string   { return e.msg }
func (e *storeError) Unwrap() []error { return e.errs }

// newError returns an error saying msg that wraps errs (nil ones dropped).
func newError(msg string, errs ...error) error {
	e := &storeError{msg: msg}
	for _, err := range errs {
		if err != nil {
			e.errs = append(e.errs, err)
		}
	}
	return e
}

// Retryable says whether err may pass on a later try: true for an
// unreachable endpoint and a transient server error (5xx, SlowDown);
// false for refused credentials, a missing bucket or object, a changed
// object, a held lock and anything else.
func Retryable(err error) bool {
	for _, fatal := range []error{ErrAuth, ErrNoBucket, ErrChanged, ErrLocked, ErrNotExist, ErrNoMatch} {
		if errors.Is(err, fatal) {
			return false
		}
	}
	if errors.Is(err, ErrUnreachable) {
		return true
	}
	c := classify(err)
	return c == transient || c == unreachable
}

// class is what a failed request says about trying it again.
type class int

const (
	permanent   class = iota // the answer will not change: report it
	transient                // a 5xx, a throttle: the store may answer next time
	unreachable              // no answer at all: the endpoint is down or far
	auth                     // the credentials were refused
	noBucket                 // the bucket does not exist
)

// authCodes are the S3 error codes that mean the credentials are wrong.
var authCodes = map[string]bool{
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"AccessDenied":          true,
	"ExpiredToken":          true,
	"InvalidToken":          true,
	"TokenRefreshRequired":  true,
}

// transientCodes are S3 error codes worth a second try.
var transientCodes = map[string]bool{
	"InternalError":      true,
	"ServiceUnavailable": true,
	"SlowDown":           true,
	"RequestTimeout":     true,
	"OperationAborted":   true,
}

// classify sorts a request's error.
func classify(err error) class {
	if errors.Is(err, context.Canceled) {
		return permanent // the caller gave up (a deadline may be a dial timeout: see below)
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch {
		case authCodes[resp.Code]:
			return auth
		case resp.Code == minio.NoSuchBucket:
			return noBucket
		case transientCodes[resp.Code], resp.StatusCode >= 500:
			return transient
		}
		return permanent
	}
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &netErr), errors.As(err, &urlErr),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return unreachable
	}
	return permanent
}

// code returns the S3 error code of err ("" if it has none).
func code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// status returns the HTTP status of err's S3 error (0 if it has none).
func status(err error) int {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode
	}
	return 0
}

// describe renders a request's error in a few words: an S3 error as its
// message and code, a network error without the request URL around it.
func describe(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		msg := resp.Message
		if msg == "" {
			msg = resp.Error()
		}
		if resp.Code != "" && resp.Code != msg {
			return fmt.Sprintf("%s (%s)", msg, resp.Code)
		}
		return msg
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// failed words the error of doing what to u (listing, reading...):
// errors Store.do has already worded for the user pass as they are.
func failed(what, u string, err error) error {
	var se *storeError
	if errors.As(err, &se) {
		return err
	}
	return newError(fmt.Sprintf("%s %s: %s", what, u, describe(err)), err)
}
