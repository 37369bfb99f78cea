package worker

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/distmr/dist/proto"
)

// scrape GETs url and returns the status code and body.
func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// series parses a Prometheus text exposition into "name{labels}" → value.
func series(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func hasArtifact(t *testing.T, s *proto.Session, sum string) bool {
	t.Helper()
	var rep proto.HasArtifactReply
	if err := s.Call(testContext(t), proto.OpHasArtifact, "", &proto.ArtifactRequest{SHA256: sum}, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Present
}

func TestMetricsAndHealth(t *testing.T) {
	w := newTestWorker(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	base := "http://" + w.MetricsAddr()
	if w.MetricsAddr() == "" {
		t.Fatal("no metrics address")
	}
	if code, body := scrape(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}

	s := connect(t, w, nil)
	b, err := theArtifact()
	if err != nil {
		t.Fatal(err)
	}
	if hasArtifact(t, s, sha(b)) {
		t.Fatal("a fresh cache holds the artifact")
	}
	art := putTestApp(t, s)
	if !hasArtifact(t, s, art) {
		t.Fatal("the uploaded artifact is not cached")
	}
	res := runMap(t, s, "mj", 0, 2, art, "the cat saw the dog\n")
	putInput(t, s, "mj", "m-00001", 0, "x\n")
	runToEnd(t, s, mapRequest("mj", 1, 0, 2, art, map[string]string{"mode": "fail"}))
	var served int64
	for _, o := range res.Outputs {
		body, _, err := fetch(testContext(t), s, proto.OpFetchPartition, "mj", &proto.FetchPartitionRequest{
			AttemptRef: proto.AttemptRef{Job: "mj", Task: "m-00000"}, Partition: o.Partition})
		if err != nil {
			t.Fatal(err)
		}
		served += int64(len(body))
	}

	// A fetch's bytes are counted once the worker has sent the last of
	// them, which may be just after this end read it.
	var got map[string]float64
	waitFor(t, "the served bytes counted", func() bool {
		code, text := scrape(t, base+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics: %d\n%s", code, text)
		}
		got = series(t, text)
		return got["dist_shuffle_served_bytes_total"] >= float64(served)
	})
	want := map[string]float64{
		"dist_tasks_running": 0,
		"dist_task_slots":    4,
		`dist_tasks_finished_total{outcome="ok",phase="map"}`:     1,
		`dist_tasks_finished_total{outcome="failed",phase="map"}`: 1,
		`dist_tasks_finished_total{outcome="killed",phase="map"}`: 0,
		`dist_tasks_finished_total{outcome="ok",phase="reduce"}`:  0,
		`dist_task_duration_seconds_count{phase="map"}`:           2,
		"dist_artifact_cache_hits_total":                          1,
		"dist_artifact_cache_misses_total":                        1,
		"dist_artifact_cache_bytes":                               float64(len(b)),
		"dist_shuffle_served_bytes_total":                         float64(served),
		"dist_output_served_bytes_total":                          0,
		`dist_output_delivered_bytes_total{to="local"}`:           0,
		`dist_output_delivered_bytes_total{to="s3"}`:              0,
		`dist_worker_info{go_version="` + runtime.Version() + `",id="` + w.ID() + `",version="` + proto.Version + `"}`: 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if served == 0 {
		t.Error("the map wrote nothing to serve")
	}
	if got["go_goroutines"] == 0 || got["dist_worker_start_time_seconds"] == 0 {
		t.Error("runtime or start time series missing")
	}
	for k := range got {
		if !strings.HasPrefix(k, "dist_") && !strings.HasPrefix(k, "go_") && !strings.HasPrefix(k, "process_") &&
			!strings.HasPrefix(k, "promhttp_") {
			t.Errorf("unexpected series %s", k)
		}
	}

	// Shutting down: /healthz says so while running attempts drain, then
	// the server goes away with the worker.
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	if code, body := scrape(t, base+"/healthz"); code != http.StatusServiceUnavailable || body != "shutting down\n" {
		t.Fatalf("/healthz while shutting down: %d %q", code, body)
	}
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if dialable(w.MetricsAddr()) {
		t.Error("the metrics server outlived Shutdown")
	}
}

func TestMetricsAddrInUse(t *testing.T) {
	w1 := newTestWorker(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	cfg := DefaultConfig()
	cfg.Dir, cfg.MetricsAddr = t.TempDir(), w1.MetricsAddr()
	w2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = w2.Start(testContext(t))
	if err == nil || !strings.Contains(err.Error(), "metrics: listen on "+w1.MetricsAddr()) {
		t.Fatalf("start with a taken metrics address: %v", err)
	}
	if dialable(w2.Addr()) {
		t.Error("a worker that failed to start still listens")
	}
}
