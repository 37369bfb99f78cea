package progress

import (
	"context"
	"log/slog"

	"github.com/distmr/dist/tracker"
)

// LogHandler wraps the handler of the log lines a process writes beside a
// Display. The display prints a line for every attempt that fails, so
// the tracker's warning that only repeats it (tracker.LogAttemptFailed
// and LogAttemptLost, WARN records carrying an "attempt" attribute) would
// say it twice: those records are dropped. Everything else, including the
// tracker's decisions about an attempt (a map running again, an attempt
// abandoned with its worker), passes through.
func LogHandler(h slog.Handler) slog.Handler { return &logHandler{next: h} }

type logHandler struct {
	next    slog.Handler
	attempt bool // an "attempt" attribute was added with WithAttrs
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && repeatsFailure(r.Message) && (h.attempt || hasAttempt(r)) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	attempt := h.attempt
	for _, a := range as {
		attempt = attempt || a.Key == "attempt"
	}
	return &logHandler{next: h.next.WithAttrs(as), attempt: attempt}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{next: h.next.WithGroup(name), attempt: h.attempt}
}

func hasAttempt(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == "attempt"
		return !found
	})
	return found
}

func repeatsFailure(msg string) bool {
	return msg == tracker.LogAttemptFailed || msg == tracker.LogAttemptLost
}
