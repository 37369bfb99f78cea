package registry

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// ZKOptions configures NewZK. The zero value is valid: every zero field
// takes its default.
type ZKOptions struct {
	// ConnectTimeout bounds how long NewZK waits for a ZooKeeper session
	// before it gives up with ErrUnreachable. Zero means 5s.
	ConnectTimeout time.Duration

	// SessionTimeout is the session timeout asked of ZooKeeper. A worker
	// cut off from ZooKeeper for longer loses its node (and registers
	// again once it is back). The server clamps it to its
	// minSessionTimeout..maxSessionTimeout (by default 2 to 20 ticks,
	// 4s to 40s). Zero means 10s.
	SessionTimeout time.Duration

	// Logger receives the registry's log lines and go-zookeeper's (at
	// Debug level). Nil discards them.
	Logger *slog.Logger

	// Auth, when not empty, is "user:password" for ZooKeeper's digest
	// scheme: the session authenticates with it and the nodes a registrar
	// creates can be changed only by sessions holding it (everyone may
	// read them; see zk_acl.go). Empty means no authentication and nodes
	// open to anyone.
	Auth string
}

// DefaultZKOptions returns the options every zero field stands for.
func DefaultZKOptions() ZKOptions {
	return ZKOptions{
		ConnectTimeout: 5 * time.Second,
		SessionTimeout: 10 * time.Second,
	}
}

// Validate reports options NewZK cannot use.
func (o ZKOptions) Validate() error {
	if o.ConnectTimeout < 0 {
		return fmt.Errorf("ZooKeeper connect timeout %v is negative: use 0 for the default 5s", o.ConnectTimeout)
	}
	if o.SessionTimeout < 0 {
		return fmt.Errorf("ZooKeeper session timeout %v is negative: use 0 for the default 10s", o.SessionTimeout)
	}
	if o.SessionTimeout > 0 && o.SessionTimeout < time.Second {
		return fmt.Errorf("ZooKeeper session timeout %v is under 1s: the connection could not even ping in time", o.SessionTimeout)
	}
	if o.Auth != "" {
		if _, _, err := parseZKAuth(o.Auth); err != nil {
			return err
		}
	}
	return nil
}

// withDefaults fills zero fields.
func (o ZKOptions) withDefaults() ZKOptions {
	d := DefaultZKOptions()
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = d.ConnectTimeout
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = d.SessionTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(discardHandler{})
	}
	return o
}

// discardHandler drops every record (slog.DiscardHandler needs Go 1.24).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }
