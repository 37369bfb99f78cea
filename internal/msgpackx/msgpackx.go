// Package msgpackx decodes msgpack from untrusted sources safely. It is
// shared by the daemon side (proto, registry) and by package task/spec,
// which is linked into every shipped program, so it imports only the
// standard library and msgpack.
//
// # Why
//
// The msgpack decoder allocates what a header declares before it reads the
// data: a 16-byte message declaring a 2 GiB string or a 4-billion-element
// array makes it allocate gigabytes. Some inputs also make it panic (nil
// for a time.Time field). Unmarshal checks the bytes first, then decodes
// with a fresh decoder under a recover, so a hostile peer gets an error,
// never a crash or an allocation out of proportion to its message.
package msgpackx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxDepth bounds how deeply arrays and maps may nest.
const MaxDepth = 32

// ErrMalformed marks bytes that are not one well-formed msgpack value.
var ErrMalformed = errors.New("malformed msgpack")

// Unmarshal decodes the single msgpack value in b into v, after checking
// that b holds exactly one value, nested at most MaxDepth deep, whose every
// declared length and element count fits in b. A decoder panic is returned
// as an error wrapping ErrMalformed.
func Unmarshal(b []byte, v any) (err error) {
	if err := Check(b, MaxDepth); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the decoder failed on it: %v", ErrMalformed, r)
		}
	}()
	r := bytes.NewReader(b)
	if err := msgpack.NewDecoder(r).Decode(v); err != nil {
		return err
	}
	if r.Len() > 0 { // Check rules this out; kept as a guard
		return fmt.Errorf("%w: %d bytes follow the value", ErrMalformed, r.Len())
	}
	return nil
}

// Check walks b without allocating per value and reports whether it is
// exactly one msgpack value nested at most maxDepth deep whose declared
// lengths all fit in b. After Check a decode allocates in proportion to
// len(b).
func Check(b []byte, maxDepth int) error {
	pending := make([]uint64, 1, 8) // items left in each open container
	pending[0] = 1
	i := 0
	for len(pending) > 0 {
		top := len(pending) - 1
		if pending[top] == 0 {
			pending = pending[:top]
			continue
		}
		pending[top]--
		if i >= len(b) {
			return fmt.Errorf("%w: ends after %d bytes inside a value", ErrMalformed, i)
		}
		c := b[i]
		i++
		var (
			skip  uint64 // payload bytes
			items uint64 // nested values
			lenSz int    // size of a length field after c
			mul   uint64 // items per counted element (2 for maps)
			extra uint64 // payload beyond the counted length (ext type byte)
		)
		switch {
		case c <= 0x7f, c >= 0xe0: // positive and negative fixint
		case c <= 0x8f: // fixmap
			items = 2 * uint64(c&0x0f)
		case c <= 0x9f: // fixarray
			items = uint64(c & 0x0f)
		case c <= 0xbf: // fixstr
			skip = uint64(c & 0x1f)
		case c == 0xc0, c == 0xc2, c == 0xc3: // nil, false, true
		case c == 0xc1:
			return fmt.Errorf("%w: byte 0xc1 at offset %d is never valid", ErrMalformed, i-1)
		case c == 0xc4, c == 0xd9: // bin8, str8
			lenSz = 1
		case c == 0xc5, c == 0xda: // bin16, str16
			lenSz = 2
		case c == 0xc6, c == 0xdb: // bin32, str32
			lenSz = 4
		case c == 0xc7, c == 0xc8, c == 0xc9: // ext8/16/32: length, type, data
			lenSz = 1 << (c - 0xc7)
			extra = 1
		case c == 0xca, c == 0xce, c == 0xd2: // float32, uint32, int32
			skip = 4
		case c == 0xcb, c == 0xcf, c == 0xd3: // float64, uint64, int64
			skip = 8
		case c == 0xcc, c == 0xd0: // uint8, int8
			skip = 1
		case c == 0xcd, c == 0xd1: // uint16, int16
			skip = 2
		case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16 plus the type
			skip = 1 + 1<<(c-0xd4)
		case c == 0xdc, c == 0xdd: // array16, array32
			lenSz, mul = 2<<(c-0xdc), 1
		case c == 0xde, c == 0xdf: // map16, map32
			lenSz, mul = 2<<(c-0xde), 2
		}
		if lenSz > 0 {
			if len(b)-i < lenSz {
				return fmt.Errorf("%w: ends inside a length at offset %d", ErrMalformed, i)
			}
			var n uint64
			switch lenSz {
			case 1:
				n = uint64(b[i])
			case 2:
				n = uint64(binary.BigEndian.Uint16(b[i:]))
			case 4:
				n = uint64(binary.BigEndian.Uint32(b[i:]))
			}
			i += lenSz
			if mul > 0 {
				items = n * mul
			} else {
				skip = n + extra
			}
		}
		left := uint64(len(b) - i)
		if skip > left {
			return fmt.Errorf("%w: a value at offset %d declares %d bytes, only %d follow", ErrMalformed, i, skip, left)
		}
		i += int(skip)
		if items > 0 {
			// Every item takes at least one byte.
			if items > uint64(len(b)-i) {
				return fmt.Errorf("%w: a container at offset %d declares %d items, only %d bytes follow", ErrMalformed, i, items, len(b)-i)
			}
			if len(pending) > maxDepth {
				return fmt.Errorf("%w: nested more than %d deep", ErrMalformed, maxDepth)
			}
			pending = append(pending, items)
		}
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d bytes follow the value", ErrMalformed, len(b)-i)
	}
	return nil
}
