package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// TestLiveView runs a word count with --ui while its first reduce is held
// at a gate: the page served at the address dist run prints says the job
// is running, reloads itself, and in Chromium draws a bar for every
// attempt so far; once the gate opens the job commits the right counts.
func TestLiveView(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	gates, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.Dist(t), "run", "--local", "2", "--app", gateApp(t),
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "2",
		"--param", "gate=^r-00000/", "--param", "gate_dir="+gates, "--ui", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var rest bytes.Buffer
	waited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-waited
	})
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "live view at "); ok {
				url <- u
			}
			rest.WriteString(sc.Text() + "\n")
		}
		io.Copy(io.Discard, stderr)
		waited <- cmd.Wait()
	}()
	var page string
	select {
	case page = <-url:
	case <-ctx.Done():
		t.Fatal("dist run never printed the live view's address")
	}
	waitFor(t, time.Minute, "r-00000 at its gate", func() bool { return len(atGate(gates, "r-00000")) == 1 })

	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(html, `<span class="status running">running</span>`) ||
		!strings.Contains(html, "setTimeout(poll, 1000)") || strings.Count(html, `<rect class="bar `) == 0 {
		t.Fatalf("GET %s: %s, a page that does not show a running job with bars:\n%.1500s", page, resp.Status, html)
	}
	if r, err := http.Get(strings.TrimSuffix(page, "/") + "/other"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /other: %v %v, want 404", r, err)
	}

	dom := testenv.Chromium(t).DOMURL(t, page)
	m := regexp.MustCompile(`data-bars="(\d+)" data-bars-drawn="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the live page's script did not run in Chromium:\n%.2000s", dom)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 || m[1] != m[2] {
		t.Fatalf("Chromium drew %s of %s bars while the job ran, want all of at least one", m[2], m[1])
	}

	openGate(t, gates, "open")
	select {
	case err := <-waited:
		waited <- err
		if err != nil {
			t.Fatalf("dist run: %v\n%s", err, rest.String())
		}
	case <-ctx.Done():
		t.Fatal("the job did not end after the gate opened")
	}
	checkWordCounts(t, out, books)
	if strings.Contains(rest.String(), "report written") {
		t.Errorf("dist run says it wrote a report it was not asked for:\n%s", rest.String())
	}
}

// TestLiveViewRefusals: a --ui address other than loopback needs the
// secret, and then the page asks for it as the password.
func TestLiveViewRefusals(t *testing.T) {
	t.Parallel()
	r := dist(t, "run", "--local", "1", "--app", env.App(t, "wordcount"), "--input", env.Corpus(t)[0],
		"--output", filepath.Join(t.TempDir(), "out"), "--ui", "0.0.0.0:0")
	if r.code != 2 || !strings.Contains(r.stderr, "--ui 0.0.0.0:0 is not a loopback address: give --secret-file too") {
		t.Fatalf("exit %d, stderr %q: want a usage error asking for --secret-file", r.code, r.stderr)
	}

	w := newWatcher(&console{}, "", true)
	pass := uiPassword([]byte("s3cret"))
	u := &uiServer{secret: []byte(pass), w: w}
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", http.StatusUnauthorized}, {"me", "wrong", http.StatusUnauthorized},
		{"me", "s3cret", http.StatusUnauthorized}, // the secret itself never crosses the network
		{"anyone", pass, http.StatusOK}} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if c.pass != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		rec := httptest.NewRecorder()
		u.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("password %q: %d, want %d", c.pass, rec.Code, c.want)
		}
	}

	// On loopback, with no password, only loopback names are served: a
	// page whose name was rebound to 127.0.0.1 is refused.
	open := &uiServer{w: w}
	for host, want := range map[string]int{"127.0.0.1:4000": http.StatusOK, "localhost:4000": http.StatusOK,
		"[::1]:4000": http.StatusOK, "evil.example:4000": http.StatusForbidden} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		open.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}
