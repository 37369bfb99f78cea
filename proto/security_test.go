package proto

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/distmr/dist/internal/testsupport/testcert"
)

// A peer must not be able to crash the client or the worker with a
// message the msgpack decoder panics on (nil for a time.Time).
func TestDecoderPanicIsMalformed(t *testing.T) {
	body, err := msgpack.Marshal(map[string]any{"info": map[string]any{"id": "w", "started": nil}, "running": 1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(body)))
	b.Write(body)
	var rep InfoReply
	if err := DecodeFrame(b.Bytes(), &rep); !errors.Is(err, ErrMalformed) {
		t.Fatalf("DecodeFrame: %v, want ErrMalformed", err)
	}
}

func TestOversizedCallHeaderRefused(t *testing.T) {
	ln := listen(t)
	done := acceptOne(t, ln, Options{})
	s, err := Dial(testCtx(t), ln.Addr().String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	// acceptOne's server answers a bad header with nothing; check the limit
	// on ReadFrame directly as ReadCallHeader applies it.
	var h Header
	var fb bytes.Buffer
	_ = binary.Write(&fb, binary.BigEndian, uint32(MaxHeader+1))
	if err := ReadFrame(&fb, MaxHeader, &h); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame over MaxHeader: %v", err)
	}
}

func TestHandshakeTimeoutOption(t *testing.T) {
	ln := listen(t)
	o := Options{HandshakeTimeout: 100 * time.Millisecond}
	errc := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		_, err = Accept(context.Background(), conn, o, "w1")
		errc <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if err := recv(t, errc); err == nil {
		t.Fatal("Accept admitted a silent peer")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("silent peer dropped after %v, want about 100ms", d)
	}
	// The worker hung up: the silent client's read ends.
	_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}
}

// tlsPair loads a node's files as server and client configs.
func tlsPair(t *testing.T, f testcert.Files) (server, client *tls.Config) {
	t.Helper()
	s, c, err := LoadTLS(TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.CA})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestMutualTLS(t *testing.T) {
	ca := testcert.NewCA(t, "cluster")
	workerTLS, _ := tlsPair(t, ca.Issue(t, "worker"))
	_, clientTLS := tlsPair(t, ca.Issue(t, "client"))
	other := testcert.NewCA(t, "other")
	_, strangerTLS := tlsPair(t, other.Issue(t, "stranger"))

	noCert := clientTLS.Clone()
	noCert.Certificates = nil
	foreignCert := clientTLS.Clone()
	foreignCert.Certificates = strangerTLS.Certificates
	trustsOther := strangerTLS.Clone()
	trustsOther.Certificates = clientTLS.Certificates
	tls12 := clientTLS.Clone()
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	for _, tc := range []struct {
		name     string
		server   *tls.Config
		client   *tls.Config
		secret   string
		wantErr  string // "" = success
		serverOK bool
	}{
		{"mutual", workerTLS, clientTLS, "", "", true},
		{"mutual with secret", workerTLS, clientTLS, "k", "", true},
		{"client without certificate", workerTLS, noCert, "", "certificate", false},
		{"client certificate from another CA", workerTLS, foreignCert, "", "refused this client's certificate", false},
		{"client does not trust the worker", workerTLS, trustsOther, "", "not signed by --tls-ca", false},
		{"client at TLS 1.2", workerTLS, tls12, "", "TLS", false},
		{"plain client, TLS worker", workerTLS, nil, "", "if it uses TLS", false},
		{"TLS client, plain worker", nil, clientTLS, "", "TLS handshake", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			done := acceptOne(t, ln, Options{TLS: tc.server, Secret: []byte(tc.secret)})
			s, err := Dial(testCtx(t), ln.Addr().String(), Options{TLS: tc.client, Secret: []byte(tc.secret)})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				var rep InfoReply
				if err := s.Call(testCtx(t), OpInfo, "", &InfoRequest{}, &rep); err != nil || rep.Running != 7 {
					t.Fatalf("Info over TLS: %v %+v", err, rep)
				}
			} else {
				if err == nil {
					s.Close()
					t.Fatal("Dial succeeded")
				}
				t.Logf("Dial: %v", err)
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Dial: %v\nwant it to mention %q", err, tc.wantErr)
				}
			}
			if err := recv(t, done); (err == nil) != tc.serverOK {
				t.Fatalf("Accept: %v", err)
			}
		})
	}
}

func TestLoadTLSErrors(t *testing.T) {
	ca := testcert.NewCA(t, "cluster")
	f := ca.Issue(t, "w")
	for _, tc := range []struct {
		files TLSFiles
		want  string
	}{
		{TLSFiles{Cert: f.Cert, Key: f.Key}, "all three"},
		{TLSFiles{Cert: f.Cert, Key: f.Cert, CA: f.CA}, "--tls-key"},
		{TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.Key}, "no PEM certificate"},
		{TLSFiles{Cert: f.Cert, Key: f.Key, CA: "/nonexistent"}, "--tls-ca"},
	} {
		if _, _, err := LoadTLS(tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadTLS(%+v) = %v, want %q", tc.files, err, tc.want)
		}
	}
	s, c, err := LoadTLS(TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.CA})
	if err != nil {
		t.Fatal(err)
	}
	if s.MinVersion != tls.VersionTLS13 || c.MinVersion != tls.VersionTLS13 || s.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("server %+v client %+v: want TLS 1.3 and verified client certificates", s.MinVersion, c.MinVersion)
	}
}

func TestStrangersRefusedByName(t *testing.T) {
	for _, tc := range []struct {
		name, send, want string
	}{
		{"http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "an HTTP request"},
		{"tls", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "a TLS handshake"},
		{"random", "\x8f\x3a\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", "it sent bytes 8f 3a"},
		{"short", "\x00\x01\x00", "it sent 3 bytes"},
		{"nothing", "", "sent nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			errc := make(chan error, 1)
			go func() {
				conn, err := ln.Accept()
				if err != nil {
					errc <- err
					return
				}
				_, err = Accept(context.Background(), conn, Options{HandshakeTimeout: 300 * time.Millisecond}, "w1")
				errc <- err
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, _ = conn.Write([]byte(tc.send))
			err = recv(t, errc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Accept: %v, want %q", err, tc.want)
			}
		})
	}
}

// Under load the write that fails (a broken pipe) can come before any read
// has seen the worker's alert or hang-up; the error must still say why.
func TestExplainHandshakeFromABrokenPipe(t *testing.T) {
	pipe := fmt.Errorf("handshake: write tcp 127.0.0.1:1->127.0.0.1:2: %w", syscall.EPIPE)
	for _, tc := range []struct {
		withTLS bool
		want    string
	}{
		{true, "refused this client's certificate"},
		{false, "if it uses TLS, give --tls-cert, --tls-key and --tls-ca"},
	} {
		got := explainHandshake(pipe, "127.0.0.1:2", tc.withTLS, nil)
		if !strings.Contains(got.Error(), tc.want) || !errors.Is(got, syscall.EPIPE) {
			t.Errorf("withTLS=%v: %v\nwant it to say %q and wrap EPIPE", tc.withTLS, got, tc.want)
		}
	}
}
