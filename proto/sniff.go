package proto

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// A worker's port sees strangers: port scanners, HTTP probes, TLS clients
// pointed at a plain worker, random bytes. Before yamux runs, sniff reads
// the first frame header a dist client sends (a yamux header: version 0,
// a type from 0 to 3) and refuses anything else at once, saying what it
// looks like, so the worker's log explains every dropped connection.

// yamuxHeaderSize is the size of a yamux frame header.
const yamuxHeaderSize = 12

// sniff checks the first bytes of conn before deadline (or ctx's end) and
// returns a conn that replays them.
func sniff(ctx context.Context, conn net.Conn, deadline time.Time) (net.Conn, error) {
	_ = conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer func() {
		stop()
		_ = conn.SetReadDeadline(time.Time{})
	}()
	var hdr [yamuxHeaderSize]byte
	n, err := io.ReadFull(conn, hdr[:2])
	if err == nil {
		if hdr[0] != 0 || hdr[1] > 3 {
			return nil, fmt.Errorf("not a dist client: %s", looksLike(conn, hdr[:2]))
		}
		var m int
		m, err = io.ReadFull(conn, hdr[2:])
		n += m
	}
	if err != nil {
		if n == 0 {
			return nil, fmt.Errorf("the peer sent nothing: %s", silence(err))
		}
		return nil, fmt.Errorf("not a dist client: it sent %d bytes (% x), then %s", n, hdr[:n], silence(err))
	}
	return &replayConn{Conn: conn, r: io.MultiReader(bytes.NewReader(hdr[:]), conn)}, nil
}

func silence(err error) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "nothing within the handshake timeout"
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "hung up"
	}
	return err.Error()
}

// looksLike names what a stranger's first bytes look like, reading a few
// more when they arrive at once.
func looksLike(conn net.Conn, head []byte) string {
	more := make([]byte, 14)
	_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	n, _ := conn.Read(more)
	b := append(append([]byte(nil), head...), more[:n]...)
	s := string(b)
	switch {
	case b[0] == 0x16 && b[1] == 0x03:
		return "a TLS handshake: this worker does not use TLS (start it with --tls-cert, --tls-key and --tls-ca, or drop them on the client)"
	case strings.HasPrefix(s, "GET ") || strings.HasPrefix(s, "POST") || strings.HasPrefix(s, "HEAD") ||
		strings.HasPrefix(s, "PUT ") || strings.HasPrefix(s, "PRI "):
		return "an HTTP request: this port speaks the dist protocol"
	case strings.HasPrefix(s, "SSH-"):
		return "an SSH client"
	}
	return fmt.Sprintf("it sent bytes % x", b)
}

// replayConn reads the sniffed header again, then the connection.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
