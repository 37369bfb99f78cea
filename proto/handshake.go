package proto

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"time"
)

// HandshakeTimeout bounds the whole handshake on both sides.
const HandshakeTimeout = 10 * time.Second

// proof computes HMAC-SHA256(secret, role | a | b); an empty secret gives
// an empty proof.
func proof(secret []byte, role string, a, b []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(role))
	m.Write(a)
	m.Write(b)
	return m.Sum(nil)
}

// checkProof compares got with the expected proof in constant time.
func checkProof(secret []byte, role string, a, b, got []byte) bool {
	want := proof(secret, role, a, b)
	if want == nil {
		return true // no secret on this side: nothing to check
	}
	return hmac.Equal(want, got)
}

func newNonce() ([]byte, error) {
	n := make([]byte, NonceSize)
	if _, err := rand.Read(n); err != nil {
		return nil, err
	}
	return n, nil
}

// clientHandshake runs the client side over rw. It returns the worker's id
// and version.
func clientHandshake(rw io.ReadWriter, secret []byte, addr string) (*Welcome, error) {
	nonce, err := newNonce()
	if err != nil {
		return nil, err
	}
	if err := WriteFrame(rw, &Hello{Proto: ProtoVersion, Version: Version, Nonce: nonce}); err != nil {
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	var w Welcome
	if err := ReadFrame(rw, MaxHeader, &w); err != nil {
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	if w.Error != nil {
		return nil, w.Error
	}
	if w.Proto != ProtoVersion {
		return nil, fmt.Errorf("%w: client speaks %d, worker at %s speaks %d: upgrade the older side",
			ErrVersion, ProtoVersion, addr, w.Proto)
	}
	if len(w.Nonce) != NonceSize {
		return nil, fmt.Errorf("handshake with %s: worker sent a %d-byte nonce, want %d", addr, len(w.Nonce), NonceSize)
	}
	if !checkProof(secret, "worker", nonce, w.Nonce, w.Proof) {
		if len(w.Proof) == 0 {
			return nil, fmt.Errorf("%w: worker at %s has no secret, this client has one: give the worker the same --secret-file, or drop it here",
				ErrAuth, addr)
		}
		return nil, fmt.Errorf("%w: worker at %s and this client do not share a secret: check that --secret-file names the cluster's secret on both sides",
			ErrAuth, addr)
	}
	if err := WriteFrame(rw, &Proof{Proof: proof(secret, "client", w.Nonce, nonce)}); err != nil {
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	var r Ready
	if err := ReadFrame(rw, MaxHeader, &r); err != nil {
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return &w, nil
}

// ServerHandshake runs the worker side over rw. A non-nil error has already
// been reported to the peer where the protocol allows.
func ServerHandshake(rw io.ReadWriter, secret []byte, workerID string) error {
	var h Hello
	if err := ReadFrame(rw, MaxHeader, &h); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if h.Proto != ProtoVersion {
		e := Errorf(CodeVersion, "protocol version mismatch: client speaks %d, worker %s speaks %d: upgrade the older side",
			h.Proto, workerID, ProtoVersion)
		_ = WriteFrame(rw, &Welcome{Proto: ProtoVersion, Version: Version, WorkerID: workerID, Error: e})
		return e
	}
	if len(h.Nonce) != NonceSize {
		e := Errorf(CodeBadRequest, "handshake: client nonce is %d bytes, want %d", len(h.Nonce), NonceSize)
		_ = WriteFrame(rw, &Welcome{Proto: ProtoVersion, Version: Version, WorkerID: workerID, Error: e})
		return e
	}
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	w := Welcome{Proto: ProtoVersion, Version: Version, WorkerID: workerID, Nonce: nonce,
		Proof: proof(secret, "worker", h.Nonce, nonce)}
	if err := WriteFrame(rw, &w); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	var p Proof
	if err := ReadFrame(rw, MaxHeader, &p); err != nil {
		if len(secret) > 0 && errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: the client hung up instead of proving it knows the secret (its --secret-file differs)", ErrAuth)
		}
		return fmt.Errorf("handshake: %w", err)
	}
	if len(secret) > 0 && !checkProof(secret, "client", nonce, h.Nonce, p.Proof) {
		e := Errorf(CodeAuth, "authentication failed: the client does not know this cluster's secret (check --secret-file)")
		_ = WriteFrame(rw, &Ready{Error: e})
		return e
	}
	return WriteFrame(rw, &Ready{})
}
