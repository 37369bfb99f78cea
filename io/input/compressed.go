package input

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Compressed reports whether a file called name is decompressed as it is
// read: its name ends in ".gz" (gzip) or ".zst" (zstd). Such a file is one
// split: a compressed stream cannot be entered at a byte offset.
func Compressed(name string) bool {
	return codecOf(name) != ""
}

func codecOf(name string) string {
	switch {
	case strings.HasSuffix(name, ".gz"):
		return "gzip"
	case strings.HasSuffix(name, ".zst"):
		return "zstd"
	}
	return ""
}

// Decompress returns a reader of the decompressed bytes of r when name
// (the input as the user named it) ends in ".gz" or ".zst", and r itself
// otherwise. Closing the result closes r. Compressed data that does not
// decode is an ErrCorrupt that names the file; an error reading r itself
// is returned as it is. Storage other than local files wraps its readers
// with it too.
func Decompress(name string, r io.ReadCloser) (io.ReadCloser, error) {
	codec := codecOf(name)
	if codec == "" {
		return r, nil
	}
	d := &decompressed{src: &source{r: r}, name: name, codec: codec}
	var err error
	switch codec {
	case "gzip":
		d.r, err = gzip.NewReader(d.src)
	case "zstd":
		// One goroutine: a map reads its stream in order; more would
		// take cores from the other tasks on the worker.
		var zr *zstd.Decoder
		if zr, err = zstd.NewReader(d.src, zstd.WithDecoderConcurrency(1)); err == nil {
			d.r, d.stop = zr, zr.Close
		}
	}
	if err != nil {
		r.Close()
		return nil, d.fail(err)
	}
	return d, nil
}

// source remembers the last error of the compressed reader, so that a
// failed read of the file is not taken for bad data.
type source struct {
	r   io.ReadCloser
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// decompressed reads a compressed stream and names the file in its errors.
type decompressed struct {
	r     io.Reader
	stop  func() // releases the decoder, if it holds anything
	src   *source
	name  string
	codec string
}

func (d *decompressed) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = d.fail(err)
	}
	return n, err
}

func (d *decompressed) fail(err error) error {
	if d.src.err != nil {
		return d.src.err // the caller names the file, as for any input
	}
	return corrupt(d.name, d.codec, err)
}

func (d *decompressed) Close() error {
	if d.stop != nil {
		d.stop()
	}
	return d.src.r.Close()
}

func corrupt(name, codec string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // an empty or cut header
	}
	tool := map[string]string{"gzip": "gzip", "zstd": "zstd"}[codec]
	return &corruptError{fmt.Sprintf("%s is corrupt or truncated %s data (%v): check it with %s -t", name, codec, err, tool)}
}

// corruptError is an ErrCorrupt whose text needs no prefix.
type corruptError struct{ msg string }

func (e *corruptError) Error() string { return e.msg }
func (e *corruptError) Unwrap() error { return ErrCorrupt }
