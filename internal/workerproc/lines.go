package workerproc

import (
	"fmt"
	"strings"
	"sync"
)

// ReadyPrefix starts the one line `dist worker` prints on stdout once it is
// listening: "dist worker ready id=ID addr=HOST:PORT".
const ReadyPrefix = "dist worker ready "

// DrainingPrefix starts the line `dist worker` prints on stdout when it
// begins to drain: "dist worker draining id=ID". A local cluster marks
// the worker draining in its registry, as ZooKeeper's node would say.
const DrainingPrefix = "dist worker draining "

// ReadyLine is the line a worker prints once it listens; metrics is its
// --metrics-addr address, "" when it serves none.
func ReadyLine(id, addr, metrics string) string {
	if metrics != "" {
		return fmt.Sprintf("%sid=%s addr=%s metrics=%s", ReadyPrefix, id, addr, metrics)
	}
	return fmt.Sprintf("%sid=%s addr=%s", ReadyPrefix, id, addr)
}

// DrainingLine is the line a worker prints when it begins to drain.
func DrainingLine(id string) string { return DrainingPrefix + "id=" + id }

// Ready is what a worker's ready line says.
type Ready struct {
	ID, Addr string
	Metrics  string // the --metrics-addr address, "" when none
}

// readyWriter receives a worker's stdout and reports its ready line, then
// its draining line.
type readyWriter struct {
	mu       sync.Mutex
	buf      []byte
	seen     bool // the ready line
	drains   bool // the draining line
	ready    chan Ready
	draining chan struct{} // closed at the draining line
}

func newReadyWriter() *readyWriter {
	return &readyWriter{ready: make(chan Ready, 1), draining: make(chan struct{})}
}

func (r *readyWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drains {
		return len(p), nil
	}
	r.buf = append(r.buf, p...)
	for {
		i := strings.IndexByte(string(r.buf), '\n')
		if i < 0 {
			break
		}
		line := string(r.buf[:i])
		r.buf = r.buf[i+1:]
		switch {
		case !r.seen && strings.HasPrefix(line, ReadyPrefix):
			r.seen = true
			r.ready <- parseReady(line)
		case r.seen && strings.HasPrefix(line, DrainingPrefix):
			r.drains, r.buf = true, nil
			close(r.draining)
			return len(p), nil
		}
	}
	if len(r.buf) > 64<<10 {
		r.buf = nil // no line we look for is that long
	}
	return len(p), nil
}

// parseReady reads "dist worker ready id=ID addr=ADDR [metrics=ADDR]".
func parseReady(line string) Ready {
	var r Ready
	for _, f := range strings.Fields(strings.TrimPrefix(line, ReadyPrefix)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "id":
			r.ID = v
		case "addr":
			r.Addr = v
		case "metrics":
			r.Metrics = v
		}
	}
	return r
}
