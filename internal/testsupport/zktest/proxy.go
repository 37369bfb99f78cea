package zktest

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections to a Server and can cut them, like a
// network partition, or expire the sessions behind them.
type Proxy struct {
	srv *Server
	ln  net.Listener

	mu     sync.Mutex
	cut    bool
	closed bool
	links  map[*link]struct{}
	wg     sync.WaitGroup // accept loop and links
}

// link is one client connection and its server side.
type link struct {
	client net.Conn
	server net.Conn // nil until dialed
	sess   Session  // set from the server's connect response
}

// Proxy starts a proxy to s on a free 127.0.0.1 port, closed when the
// test ends. Clients that should be cut off or expired connect to its
// Addr instead of the server's.
func (s *Server) Proxy(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("zktest: proxy: %v", err)
	}
	p := &Proxy{srv: s, ln: ln, links: make(map[*link]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's address, to give to clients.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection through the proxy and refuses new ones
// (accepting and closing them at once) until Heal.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.dropAllLocked()
}

// Heal lets connections through again.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// Sessions returns the sessions of the connections open now.
func (p *Proxy) Sessions() []Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Session
	seen := make(map[int64]bool)
	for l := range p.links {
		if l.sess.ID != 0 && !seen[l.sess.ID] {
			seen[l.sess.ID] = true
			out = append(out, l.sess)
		}
	}
	return out
}

// ExpireSessions ends, on the server, every session with a connection
// through the proxy now, and returns how many it ended.
func (p *Proxy) ExpireSessions(ctx context.Context) (int, error) {
	n := 0
	for _, s := range p.Sessions() {
		if err := p.srv.ExpireSession(ctx, s); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		if p.cut || p.closed {
			p.mu.Unlock()
			c.Close()
			continue
		}
		l := &link{client: c}
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(l)
	}
}

// serve pipes one connection both ways, noting the session the server
// gives it, until either side closes or the proxy drops it.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	defer p.drop(l)
	sc, err := net.DialTimeout("tcp", p.srv.Addr(), 5*time.Second)
	if err != nil {
		return // server down: the client sees its connection close
	}
	p.mu.Lock()
	if _, ok := p.links[l]; !ok {
		p.mu.Unlock()
		sc.Close()
		return // cut meanwhile
	}
	l.server = sc
	p.mu.Unlock()

	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(sc, l.client)
		p.drop(l)
	}()
	p.fromServer(l)
	p.drop(l)
	<-done
}

// fromServer copies server to client, reading the connect response on
// the way to learn the session.
func (p *Proxy) fromServer(l *link) {
	resp, err := readFrame(l.server)
	if err != nil {
		return
	}
	if sess, ok := parseConnectResponse(resp); ok && sess.ID != 0 {
		p.mu.Lock()
		l.sess = sess
		p.mu.Unlock()
	}
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(resp)))
	if _, err := l.client.Write(append(hdr, resp...)); err != nil {
		return
	}
	io.Copy(l.client, l.server)
}

// drop closes a link's connections and forgets it.
func (p *Proxy) drop(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(l)
}

func (p *Proxy) dropLocked(l *link) {
	if _, ok := p.links[l]; !ok {
		return
	}
	delete(p.links, l)
	l.client.Close()
	if l.server != nil {
		l.server.Close()
	}
}

func (p *Proxy) dropAllLocked() {
	for l := range p.links {
		p.dropLocked(l)
	}
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.dropAllLocked()
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
