package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Browser is a headless Chromium for tests that must see a page really
// render (Debian's chromium package; .ci/run installs it).
type Browser struct {
	path string
}

// Chromium finds a headless-capable Chromium ($CHROMIUM, then chromium or
// chromium-browser on $PATH). Without one the test is skipped, except with
// CI=true, where a missing browser is a broken setup and fails it.
func Chromium(t testing.TB) *Browser {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return &Browser{path: p}
		}
	}
	const why = "chromium not installed (apt-get install chromium): cannot check that the page renders"
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: browser tests must run)", why)
	}
	t.Skip(why)
	return nil
}

// run starts the browser on the local file page with extra flags and
// returns what it printed on stdout. Each run has its own profile
// directory and talks to no network service.
func (b *Browser) run(t testing.TB, page string, extra ...string) []byte {
	t.Helper()
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	return b.runURL(t, "file://"+abs, extra...)
}

// runURL is run for any URL, such as a page served on loopback.
func (b *Browser) runURL(t testing.TB, url string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	args = append(append(args, extra...), url)
	cmd := exec.CommandContext(ctx, b.path, args...)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\nstderr:\n%s", b.path, args, err, stderr.b)
	}
	return out
}

// DOM loads page, runs its scripts and returns the resulting document
// (--dump-dom).
func (b *Browser) DOM(t testing.TB, page string) string {
	t.Helper()
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	return b.DOMURL(t, "file://"+abs)
}

// DOMURL is DOM for a page at url.
func (b *Browser) DOMURL(t testing.TB, url string) string {
	t.Helper()
	return string(b.runURL(t, url, "--dump-dom", "--virtual-time-budget=2000"))
}

// Screenshot renders page in a width×height window into png.
func (b *Browser) Screenshot(t testing.TB, page, png string, width, height int) {
	t.Helper()
	b.run(t, page, "--screenshot="+png, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--hide-scrollbars")
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot written to %s (err %v)", png, err)
	}
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
