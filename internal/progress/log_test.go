package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogHandlerDropsAttemptWarnings(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))).With("job", "j1")
	attempt := log.With("task", "m-00001", "attempt", 0, "worker", "w1")
	attempt.Warn("attempt failed", "err", "exit status 3")                    // the display shows it
	log.Warn("attempt lost with its worker", "task", "m-00002", "attempt", 1) // so too
	attempt.Debug("attempt committed")
	log.Warn("worker lost", "worker", "w1", "why", "left the registry")
	attempt.Warn("reduce found map output damaged, running the map again", "map", "m-00000") // a decision
	log.WithGroup("g").Error("an error about an attempt", "attempt", 2)
	got := out.String()
	for _, gone := range []string{"attempt failed", "attempt lost with its worker"} {
		if strings.Contains(got, gone) {
			t.Errorf("%q was logged although the display shows it:\n%s", gone, got)
		}
	}
	for _, kept := range []string{"attempt committed", "worker lost", "an error about an attempt", "map output damaged"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q was not logged:\n%s", kept, got)
		}
	}
}
