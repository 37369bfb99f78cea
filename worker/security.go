package worker

import (
	"fmt"
	"net"
	"time"

	"github.com/distmr/dist/proto"
)

// Security holds what the worker lets a peer do and what a task may use.
// It is embedded in Config; the zero value of every field is usable.
type Security struct {
	// Insecure lets a worker with neither a Secret nor TLS listen on an
	// address other than loopback. Without it such a worker refuses to
	// start: anyone who can reach its port could run any program on it.
	// A loopback-only worker needs no secret (other local users can still
	// reach it: give it one on a shared machine).
	Insecure bool
	// HandshakeTimeout bounds the TLS and dist handshakes of a new
	// connection; a peer that connects and says nothing is dropped when it
	// passes. 0 means proto.HandshakeTimeout (10s).
	HandshakeTimeout time.Duration
	// MaxStreams bounds the calls one session may have open at once; a
	// call beyond it is refused with a retryable busy. 0 means 256.
	MaxStreams int
	// IdleTimeout cuts off an upload or download whose peer sends or
	// takes nothing for this long. 0 means 2 minutes.
	IdleTimeout time.Duration
	// TaskMaxFiles is the task process's limit on open files
	// (RLIMIT_NOFILE). 0 means 1024; it is never raised above the
	// worker's own hard limit.
	TaskMaxFiles uint64
	// TaskMaxProcs is the task process's limit on processes and threads
	// (RLIMIT_NPROC). The kernel counts every process of the task's user,
	// so a limit is only meaningful when tasks run as a user of their own:
	// 0 means 4096 with RunAs and no limit without it.
	TaskMaxProcs uint64
	// RunAs names the user tasks run as (name or numeric uid). It needs a
	// worker running as root; "" runs tasks as the worker's own user.
	RunAs string
}

// Defaults of the Security fields.
const (
	DefaultMaxStreams   = 256
	DefaultIdleTimeout  = 2 * time.Minute
	DefaultTaskMaxFiles = 1024
	DefaultTaskMaxProcs = 4096 // with RunAs
)

func (s Security) withDefaults() Security {
	if s.HandshakeTimeout == 0 {
		s.HandshakeTimeout = proto.HandshakeTimeout
	}
	if s.MaxStreams == 0 {
		s.MaxStreams = DefaultMaxStreams
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.TaskMaxFiles == 0 {
		s.TaskMaxFiles = DefaultTaskMaxFiles
	}
	if s.TaskMaxProcs == 0 && s.RunAs != "" {
		s.TaskMaxProcs = DefaultTaskMaxProcs
	}
	return s
}

// validateSecurity checks the Security fields and refuses an exposed
// worker without authentication.
func validateSecurity(c *Config) error {
	s := c.Security
	switch {
	case s.HandshakeTimeout < 0, s.IdleTimeout < 0:
		return fmt.Errorf("%w: negative handshake or idle timeout", ErrConfig)
	case s.MaxStreams < 0:
		return fmt.Errorf("%w: max streams is %d: use 0 (default %d) or more", ErrConfig, s.MaxStreams, DefaultMaxStreams)
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("%w: listen address %q: %v: use HOST:PORT, e.g. 127.0.0.1:7070", ErrConfig, c.Listen, err)
	}
	if !loopbackHost(host) {
		// A host name is checked again, resolved, once it is bound.
		if ip := net.ParseIP(host); ip != nil || host == "" {
			return checkExposed(c, c.Listen, false)
		}
	}
	return nil
}

// authenticated reports whether connections must prove themselves: with
// the shared secret, or with a client certificate (TLS is always mutual).
func (c *Config) authenticated() bool { return len(c.Secret) > 0 || c.TLS != nil }

// checkExposed refuses to serve on addr, which is not loopback, without
// authentication unless Insecure is set.
func checkExposed(c *Config, addr string, loopback bool) error {
	if loopback || c.authenticated() || c.Insecure {
		return nil
	}
	return fmt.Errorf("%w: refusing to listen on %s without a secret: anyone who can reach it could run any program "+
		"on this machine: give --secret-file (and the same file to dist run), or listen on 127.0.0.1, "+
		"or pass --insecure if every host that can reach this port is trusted", ErrConfig, addr)
}

// loopbackHost reports whether a listen host is certainly loopback
// without resolving it.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkBound applies checkExposed to the address actually bound, which
// covers listen host names.
func (w *Worker) checkBound(a net.Addr) error {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return nil
	}
	return checkExposed(&w.cfg, a.String(), ta.IP.IsLoopback())
}

// warnExposure logs, loudly, what a worker without authentication lets
// others do.
func (w *Worker) warnExposure(addr string) {
	log := w.log
	switch {
	case w.cfg.authenticated():
		return
	case w.cfg.Insecure:
		log.Warn("INSECURE: no secret and no TLS (--insecure): anyone who can reach " + addr +
			" can run any program on this machine as this worker's user; dist workers shows this worker as insecure")
	default:
		log.Warn("no secret: any local user can run programs through this worker; give --secret-file on a shared machine",
			"addr", addr)
	}
}

// securityFlags are the Info flags an operator should see: "insecure"
// when anyone who reaches the port is admitted, "tls" with TLS.
func (w *Worker) securityFlags() []string {
	var f []string
	if !w.cfg.authenticated() {
		f = append(f, "insecure")
	}
	if w.cfg.TLS != nil {
		f = append(f, "tls")
	}
	return f
}
