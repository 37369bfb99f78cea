package proto

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxFrame bounds every frame; readers refuse bigger ones unread.
const MaxFrame = 1 << 20

// MaxHeader bounds the frames a peer may send before it has been
// admitted or before its call says what it is: the handshake messages and
// call headers. They are a few dozen bytes.
const MaxHeader = 64 << 10

// WriteFrame writes v as one frame.
func WriteFrame(w io.Writer, v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	if len(b) > MaxFrame {
		return fmt.Errorf("%w: %T encodes to %d bytes, limit %d", ErrFrameTooLarge, v, len(b), MaxFrame)
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one frame of at most limit bytes into v.
func ReadFrame(r io.Reader, limit int, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return ErrEmptyFrame
	}
	if int64(n) > int64(limit) {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, limit)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := Unmarshal(b, v); err != nil {
		return fmt.Errorf("malformed %T: %w", v, err)
	}
	return nil
}

// DecodeFrame decodes a whole frame held in b (length prefix included);
// it is the entry point for fuzzing.
func DecodeFrame(b []byte, v any) error {
	return ReadFrame(bytes.NewReader(b), MaxFrame, v)
}
