package zktest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// maxFrame bounds a frame read from the server.
const maxFrame = 1 << 20

// opClose is ZooKeeper's closeSession opcode.
const opClose int32 = -11

// Session is what it takes to act as a ZooKeeper session: its ID and
// password, as the server sent them in the connect response.
type Session struct {
	ID     int64
	Passwd []byte
}

func (s Session) String() string { return fmt.Sprintf("0x%x", s.ID) }

// FourLetter sends a four-letter command ("srvr", "ruok", "dump", ...) to
// addr and returns the answer.
func FourLetter(ctx context.Context, addr, cmd string) (string, error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// ExpireSession ends session sess on the server as if it had timed out:
// it connects as that session (which moves it to the new connection) and
// closes it. ZooKeeper deletes the session's ephemeral nodes, and its
// client's next reconnect is told the session expired.
func (s *Server) ExpireSession(ctx context.Context, sess Session) error {
	c, err := dial(ctx, s.Addr())
	if err != nil {
		return fmt.Errorf("expiring session %v: %w", sess, err)
	}
	defer c.Close()
	if err := expire(c, sess); err != nil {
		return fmt.Errorf("expiring session %v: %w", sess, err)
	}
	return nil
}

func expire(c net.Conn, sess Session) error {
	// ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId,
	// passwd (length-prefixed).
	req := binary.BigEndian.AppendUint32(nil, 0)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, uint32(MaxSessionTimeout.Milliseconds()))
	req = binary.BigEndian.AppendUint64(req, uint64(sess.ID))
	req = binary.BigEndian.AppendUint32(req, uint32(len(sess.Passwd)))
	req = append(req, sess.Passwd...)
	if err := writeFrame(c, req); err != nil {
		return err
	}
	resp, err := readFrame(c)
	if err != nil {
		return fmt.Errorf("reading the connect response: %w", err)
	}
	got, ok := parseConnectResponse(resp)
	if !ok {
		return fmt.Errorf("malformed connect response (%d bytes)", len(resp))
	}
	if got.ID != sess.ID {
		return errors.New("the server no longer knows it (already expired or closed)")
	}
	// RequestHeader{xid, type=closeSession}; the request body is empty.
	closeReq := binary.BigEndian.AppendUint32(nil, 1)
	op := opClose
	closeReq = binary.BigEndian.AppendUint32(closeReq, uint32(op))
	if err := writeFrame(c, closeReq); err != nil {
		return err
	}
	// ReplyHeader{xid, zxid, err}.
	reply, err := readFrame(c)
	if err != nil {
		return fmt.Errorf("reading the close reply: %w", err)
	}
	if len(reply) < 16 {
		return fmt.Errorf("malformed close reply (%d bytes)", len(reply))
	}
	if code := int32(binary.BigEndian.Uint32(reply[12:16])); code != 0 {
		return fmt.Errorf("closeSession failed with ZooKeeper error %d", code)
	}
	return nil
}

// parseConnectResponse reads ConnectResponse{protocolVersion, timeOut,
// sessionId, passwd}.
func parseConnectResponse(b []byte) (Session, bool) {
	if len(b) < 20 {
		return Session{}, false
	}
	id := int64(binary.BigEndian.Uint64(b[8:16]))
	n := int(int32(binary.BigEndian.Uint32(b[16:20])))
	if n < 0 || len(b) < 20+n {
		return Session{}, false
	}
	return Session{ID: id, Passwd: append([]byte(nil), b[20:20+n]...)}, true
}

func writeFrame(w io.Writer, body []byte) error {
	_, err := w.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...))
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes, more than %d", n, maxFrame)
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// dial connects to addr with ctx's deadline (or 10s) on every read and
// write.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
