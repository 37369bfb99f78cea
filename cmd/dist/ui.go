package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"time"
)

// uiServer serves a running job's page (dist run --ui ADDR): the --report
// page, drawn afresh from what the job has done so far on every request,
// which a browser reloads every second while the job runs. It has no
// assets of its own to fetch and no other paths.
type uiServer struct {
	srv    *http.Server
	ln     net.Listener
	secret []byte // asked for as the password when not nil
	w      *watcher
}

// startUI listens on addr. An address other than loopback shows the job
// to the network, so it needs the cluster secret; the page then asks for
// a password made from it (uiPassword), never the secret itself, which
// plain HTTP would show to anyone on the way.
func startUI(addr string, secret []byte, w *watcher) (*uiServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--ui %q: %v: give HOST:PORT, such as 127.0.0.1:0", addr, err)
	}
	loopback := loopbackHost(host)
	if !loopback && len(secret) == 0 {
		return nil, fmt.Errorf("--ui %s is not a loopback address: give --secret-file too (the page then asks for the secret), or serve on 127.0.0.1", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--ui: %v", err)
	}
	u := &uiServer{ln: ln, w: w}
	if !loopback {
		u.secret = []byte(uiPassword(secret)) // on loopback, the machine's own users see it, as they see a --report file
	}
	u.srv = &http.Server{Handler: u, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = u.srv.Serve(ln) }()
	return u, nil
}

// uiPassword is the live page's password for a cluster secret: an HMAC
// of it, so that what a browser sends in the clear grants the page and
// nothing else.
func uiPassword(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("dist run --ui"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// Where says where the page is, and its password if it has one.
func (u *uiServer) Where() string {
	url := "http://" + u.ln.Addr().String() + "/"
	if u.secret == nil {
		return url
	}
	return url + " (password " + string(u.secret) + ")"
}

func (u *uiServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if u.secret == nil && !loopbackHost(r.Host) {
		// A page elsewhere whose name now points at 127.0.0.1 (DNS
		// rebinding) must not read the job.
		http.Error(rw, "this page is served to loopback names only", http.StatusForbidden)
		return
	}
	if u.secret != nil {
		_, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pass), u.secret) != 1 {
			rw.Header().Set("WWW-Authenticate", `Basic realm="dist job", charset="UTF-8"`)
			http.Error(rw, "give the password dist run printed with the address", http.StatusUnauthorized)
			return
		}
	}
	if r.URL.Path != "/" {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "only GET", http.StatusMethodNotAllowed)
		return
	}
	var page bytes.Buffer
	if err := u.w.page(&page); err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	_, _ = rw.Write(page.Bytes())
}

// loopbackHost reports whether a request's Host names this machine by a
// loopback address or "localhost".
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// Close stops serving.
func (u *uiServer) Close() { _ = u.srv.Close() }
