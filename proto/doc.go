// Package proto is the wire protocol shared by the dist client and worker
// daemons. docs/PROTOCOL.md is its specification; this package is the only
// code that speaks it.
//
// # Layers
//
// A TCP connection (optionally TLS) carries one yamux session. The dialer is
// the yamux client. The first stream is the handshake (Hello, Welcome, Proof,
// Ready); every later stream is one call: a Header frame, the op's request
// frame, an optional body, then the reply.
//
// # Frames
//
// A frame is a 4-byte big-endian length and that many bytes of msgpack.
// Readers refuse frames above a limit before allocating. Bodies are raw
// bytes whose length the preceding frame announced.
//
// # Security
//
// The handshake is a mutual HMAC-SHA256 challenge over the cluster secret
// with a fresh nonce from each side (handshake.go); TLS, when configured,
// is 1.3 and mutual (tls.go). Before yamux runs, a worker drops bytes that
// are not a yamux header (sniff.go). Every msgpack decode goes through
// Unmarshal, which checks declared lengths against the bytes at hand and
// turns a decoder panic into ErrMalformed.
package proto
