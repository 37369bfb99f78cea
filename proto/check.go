package proto

import (
	"github.com/distmr/dist/internal/msgpackx"
)

// MaxDepth bounds how deeply msgpack arrays and maps may nest in a message.
const MaxDepth = msgpackx.MaxDepth

// ErrMalformed marks bytes that are not one well-formed msgpack value.
var ErrMalformed = msgpackx.ErrMalformed

// Unmarshal decodes the single msgpack value in b into v, after checking
// that b holds exactly one value, nested at most MaxDepth deep, whose every
// declared length and element count fits in b.
//
// The check matters: the msgpack decoder allocates what a header declares
// before reading the data, so a 16-byte message declaring a 2 GiB byte
// string, or a 4-billion-element array, would otherwise make the reader
// allocate gigabytes (or die of it). After the check a decode allocates in
// proportion to len(b). A message that makes the decoder panic (nil for a
// time.Time, such as an InfoReply with "started": nil) is an ErrMalformed
// error, never a crash of the client or the worker.
func Unmarshal(b []byte, v any) error {
	return msgpackx.Unmarshal(b, v)
}

// checkMsgpack walks b without allocating per value.
func checkMsgpack(b []byte) error { return msgpackx.Check(b, MaxDepth) }
