package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ClientData is what `dist run`'s summary says went through the client:
// "client data bytes: in N, out M".
type ClientData struct{ In, Out int64 }

var clientDataLine = regexp.MustCompile(`client data bytes: in (\d+), out (\d+)`)

// parseClientData finds the client data bytes in a summary.
func parseClientData(summary string) (ClientData, error) {
	m := clientDataLine.FindStringSubmatch(summary)
	if m == nil {
		return ClientData{}, fmt.Errorf("the summary does not say what the client carried:\n%s", summary)
	}
	in, err1 := strconv.ParseInt(m[1], 10, 64)
	out, err2 := strconv.ParseInt(m[2], 10, 64)
	if err1 != nil || err2 != nil {
		return ClientData{}, fmt.Errorf("bad client data bytes in the summary: %q", m[0])
	}
	return ClientData{In: in, Out: out}, nil
}

var shuffledLine = regexp.MustCompile(`bytes shuffled (\d+)`)

// distRun is one timed `dist run`.
type distRun struct {
	wall     time.Duration
	rss      int64 // peak RSS of its process tree (timedRSS)
	data     ClientData
	shuffled int64 // bytes shuffled, from the summary
}

// runDist runs `dist run args...` with env added to this process's
// environment, and reads the client data bytes from its summary. Its
// progress is kept and shown only when it fails.
func runDist(ctx context.Context, cfg *Config, env []string, args ...string) (distRun, error) {
	cmd, _ := command(ctx, cfg, filepath.Join(cfg.Bin, "dist"), append([]string{"run"}, args...)...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	d, rss, err := timedRSS(cmd)
	r := distRun{wall: d, rss: rss}
	if err != nil {
		return r, fmt.Errorf("%w; it said:\n%s", err, strings.TrimSpace(stderr.String()))
	}
	if m := shuffledLine.FindStringSubmatch(stdout.String()); m != nil {
		r.shuffled, _ = strconv.ParseInt(m[1], 10, 64)
	}
	r.data, err = parseClientData(stdout.String())
	return r, err
}
