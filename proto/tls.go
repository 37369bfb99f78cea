package proto

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
)

// TLSFiles names the PEM files of a node's TLS identity. Every node, worker
// or client, has a certificate signed by the cluster CA: TLS is mutual, so
// each side verifies the other against CA.
type TLSFiles struct {
	Cert string // the node's certificate chain
	Key  string // its private key
	CA   string // the CA certificate(s) peers must be signed by
}

// IsZero reports whether no file is named (TLS off).
func (f TLSFiles) IsZero() bool { return f.Cert == "" && f.Key == "" && f.CA == "" }

// LoadTLS reads the files and returns the configs for both ends: server
// for a worker's listener, client for dialing workers (from dist run, dist
// workers, or a worker fetching map outputs from its peers). Both require
// TLS 1.3 and a peer certificate signed by the CA. A certificate used on
// both ends (a worker's) needs the server and client auth extended key
// usages, or none.
func LoadTLS(f TLSFiles) (server, client *tls.Config, err error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return nil, nil, errors.New("TLS needs all three of --tls-cert, --tls-key and --tls-ca")
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", f.Cert, f.Key, err)
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", f.CA)
	}
	server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	client = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
	}
	return server, client, nil
}

// clientTLSFor returns c with ServerName set to addr's host when c names
// none, so the worker's certificate is checked against the address dialed.
func clientTLSFor(c *tls.Config, addr string) *tls.Config {
	if c.ServerName != "" {
		return c
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c = c.Clone()
	c.ServerName = host
	return c
}

// tlsHint names the likely fix for a failed TLS handshake.
func tlsHint(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &unknown):
		return "the worker's certificate is not signed by --tls-ca: use the cluster's CA"
	case errors.As(err, &hostname):
		return "the worker's certificate does not name the address dialed: add it to the certificate's subject alternative names"
	case errors.As(err, &invalid):
		return "the worker's certificate is expired or not valid for TLS servers"
	case errors.As(err, &recErr):
		return "the worker does not speak TLS: drop --tls-* or start the worker with TLS"
	case strings.Contains(msg, "certificate required"), strings.Contains(msg, "bad certificate"),
		strings.Contains(msg, "unknown certificate authority"):
		return "the worker refused this client's certificate: use --tls-cert/--tls-key signed by the worker's CA"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "the worker hung up during the TLS handshake: does it use TLS (--tls-cert on the worker)?"
	case strings.Contains(msg, "protocol version"):
		return "the peer does not speak TLS 1.3"
	}
	return "check --tls-cert, --tls-key and --tls-ca on both sides"
}

// readErrConn remembers the first error a read returned, so that a
// handshake cut short by the transport can say why (yamux reports only
// that its session ended).
type readErrConn struct {
	net.Conn
	mu    sync.Mutex
	first error
}

func (c *readErrConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.first == nil {
			c.first = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *readErrConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// refusal reports whether err is the worker's own word on a handshake.
func refusal(err error) bool {
	var we *Error
	return errors.As(err, &we) || errors.Is(err, ErrAuth) || errors.Is(err, ErrVersion)
}

// explainHandshake words a dist handshake that failed: a refusal from the
// worker is returned as it is; a connection that broke is explained by
// what the transport saw (a TLS alert means the worker refused this
// client's certificate; a plain hang-up often means the worker wants TLS).
func explainHandshake(err error, addr string, withTLS bool, readErr error) error {
	if refusal(err) {
		return err
	}
	switch {
	case withTLS && readErr != nil && !errors.Is(readErr, io.EOF) && !errors.Is(readErr, net.ErrClosed):
		return fmt.Errorf("TLS with worker %s: %w: %s", addr, readErr, tlsHint(readErr))
	case !withTLS && readErr != nil && !errors.Is(readErr, net.ErrClosed):
		return fmt.Errorf("handshake with worker %s: the worker hung up (%v): if it uses TLS, give --tls-cert, --tls-key and --tls-ca", addr, readErr)
	case hungUp(err) && withTLS:
		// The reads said nothing (the session closed on the failed write
		// before its reader saw the alert): after a TLS 1.3 handshake the
		// worker checks the client's certificate, so a hang-up now is
		// that check failing.
		return fmt.Errorf("TLS with worker %s: the worker hung up after the TLS handshake (%w): the worker refused this client's certificate: use --tls-cert/--tls-key signed by the worker's CA", addr, err)
	case hungUp(err):
		return fmt.Errorf("handshake with worker %s: the worker hung up (%w): if it uses TLS, give --tls-cert, --tls-key and --tls-ca", addr, err)
	}
	return err
}

// hungUp reports whether err is a connection the peer closed or reset.
func hungUp(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}
