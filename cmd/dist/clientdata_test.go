package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/distmr/dist/internal/testsupport/testenv"
)

// The summary says what data went through the client: every input byte
// sent to a worker and every output byte fetched back. With no retries
// and no backups that is exactly the inputs' size and the parts' size.
func TestSummarySaysClientDataBytes(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	out := filepath.Join(t.TempDir(), "out")
	report := filepath.Join(t.TempDir(), "report.html")
	// Workers that say they are on another host: the client sends every
	// split and fetches every part (on its own host it carries nothing:
	// TestLocalInputsInPlace).
	elsewhere := withEnv(t, "DIST_HOST_ID=elsewhere")
	w1 := testenv.StartWorker(t, elsewhere, "--slots", "2")
	w2 := testenv.StartWorker(t, elsewhere, "--slots", "2")
	r := mustRun(t, "run", "--workers", w1.Addr+","+w2.Addr, "--app", env.App(t, "wordcount"), "--speculative=false",
		"--input", filepath.Join(filepath.Dir(books[0]), "*.txt"), "--output", out, "--reduces", "2",
		"--report", report)
	checkWordCounts(t, out, books)
	// A retried or backup attempt sends its split (or fetches its part)
	// again: then the counts are only bounded below.
	exact := regexp.MustCompile(`\(failed 0, backups 0,`).MatchString(r.stdout)
	m := regexp.MustCompile(`client data bytes: in (\d+), out (\d+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("the summary does not say what the client carried:\n%s", r.stdout)
	}
	var wantIn, wantOut int64
	for _, b := range books {
		wantIn += fileSize(t, b)
	}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*"))
	for _, p := range parts {
		wantOut += fileSize(t, p)
	}
	in, _ := strconv.ParseInt(m[1], 10, 64)
	out2, _ := strconv.ParseInt(m[2], 10, 64)
	if (exact && (in != wantIn || out2 != wantOut)) || in < wantIn || out2 < wantOut {
		t.Errorf("client data bytes: in %d, out %d; want in %d (the books), out %d (the parts); exact %v:\n%s",
			in, out2, wantIn, wantOut, exact, r.stdout)
	}
	html, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`client data bytes`).Match(html) {
		t.Errorf("the report does not show the client data bytes")
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mode().IsRegular() {
		t.Fatalf("%s is not a regular file", path)
	}
	return st.Size()
}
