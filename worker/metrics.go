package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Metrics. Each worker has its own Prometheus registry (never the
// package-level default), served with Config.MetricsAddr at /metrics,
// with /healthz beside it. Series, all prefixed dist_:
//
//	dist_tasks_running                       attempts holding a slot now
//	dist_task_slots                          Config.Slots
//	dist_tasks_finished_total{phase,outcome} attempts ended: outcome ok, failed or killed
//	dist_task_duration_seconds{phase}        histogram of attempt run times (staging included)
//	dist_artifact_cache_bytes                bytes in <Dir>/cache
//	dist_artifact_cache_hits_total           HasArtifact calls that found the artifact
//	dist_artifact_cache_misses_total         ... that did not (the client uploads it)
//	dist_shuffle_served_bytes_total          map output bytes served to reduces (FetchPartition)
//	dist_output_served_bytes_total           task output bytes served to clients (FetchOutput)
//	dist_output_delivered_bytes_total{to}    task output bytes this worker put where the job's
//	                                         output lives: to="local" (the client's staging
//	                                         directory, on its host) or "s3" (uploads)
//	dist_worker_info{id,version,go_version}  1
//	dist_worker_start_time_seconds           Unix time the worker started listening
//
// plus the Go runtime (go_*) and process (process_*) collectors.
type metrics struct {
	reg         *prometheus.Registry
	finished    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	cacheHits   prometheus.Counter
	cacheMisses prometheus.Counter
	shuffled    prometheus.Counter
	output      prometheus.Counter
	delivered   *prometheus.CounterVec

	mu   sync.Mutex
	srv  *http.Server // nil unless serving
	addr string
}

func newMetrics(w *Worker) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dist_tasks_finished_total",
			Help: "Task attempts that ended on this worker, by phase (map, reduce) and outcome (ok, failed, killed).",
		}, []string{"phase", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dist_task_duration_seconds",
			Help:    "How long task attempts ran on this worker, input staging included, by phase.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25, 50, 100, 250, 600, 1800},
		}, []string{"phase"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dist_artifact_cache_hits_total",
			Help: "HasArtifact calls that found the artifact in this worker's cache.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dist_artifact_cache_misses_total",
			Help: "HasArtifact calls that did not find the artifact (the client then uploads it).",
		}),
		shuffled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dist_shuffle_served_bytes_total",
			Help: "Map output bytes this worker served to reduce tasks (FetchPartition).",
		}),
		output: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dist_output_served_bytes_total",
			Help: "Task output bytes this worker served to clients (FetchOutput).",
		}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dist_output_delivered_bytes_total",
			Help: "Task output bytes this worker put where the job's output lives: the client's staging directory (to=local) or S3 uploads (to=s3).",
		}, []string{"to"}),
	}
	m.delivered.WithLabelValues("local")
	m.delivered.WithLabelValues("s3")
	for _, p := range []spec.Phase{spec.PhaseMap, spec.PhaseReduce} {
		for _, o := range []string{"ok", "failed", "killed"} {
			m.finished.WithLabelValues(string(p), o) // show zeros from the start
		}
		m.duration.WithLabelValues(string(p))
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.finished, m.duration, m.cacheHits, m.cacheMisses, m.shuffled, m.output, m.delivered,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dist_tasks_running",
			Help: "Task attempts holding a slot on this worker now.",
		}, func() float64 { return float64(w.slots.inUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dist_task_slots",
			Help: "How many task attempts this worker runs at once (--slots).",
		}, func() float64 { return float64(w.cfg.Slots) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dist_artifact_cache_bytes",
			Help: "Bytes of artifacts in this worker's cache.",
		}, func() float64 { return float64(w.cache.bytes()) }),
	)
	return m
}

// taskEnded counts one ended attempt.
func (m *metrics) taskEnded(p spec.Phase, ok, killed bool, took time.Duration) {
	outcome := "failed"
	switch {
	case ok:
		outcome = "ok"
	case killed:
		outcome = "killed"
	}
	m.finished.WithLabelValues(string(p), outcome).Inc()
	m.duration.WithLabelValues(string(p)).Observe(took.Seconds())
}

// cacheLookup counts one HasArtifact answer.
func (m *metrics) cacheLookup(hit bool) {
	if hit {
		m.cacheHits.Inc()
	} else {
		m.cacheMisses.Inc()
	}
}

// served counts bytes of an output file served: a map's partition file
// (shuffle) or a task's final output.
func (m *metrics) served(name string, n int64) {
	if strings.HasPrefix(name, strings.TrimSuffix(spec.MapPartName(0), "00000")) {
		m.shuffled.Add(float64(n))
	} else {
		m.output.Add(float64(n))
	}
}

// serve starts the metrics HTTP server on addr for worker w (whose id is
// known by now). The server's goroutine is one of w's: close stops it.
func (m *metrics) serve(w *Worker, addr string) error {
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "dist_worker_info",
		Help:        "Always 1; the labels describe the worker.",
		ConstLabels: prometheus.Labels{"id": w.ID(), "version": proto.Version, "go_version": runtime.Version()},
	})
	info.Set(1)
	m.reg.MustRegister(
		info,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "dist_worker_start_time_seconds",
			Help: "When the worker started listening, in seconds since the Unix epoch.",
		}, func() float64 { return float64(w.Info().Started.UnixNano()) / 1e9 }),
	)
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return fmt.Errorf("worker: metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/healthz", w.healthz)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	m.mu.Lock()
	m.srv, m.addr = srv, ln.Addr().String()
	m.mu.Unlock()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Warn("metrics server stopped", "err", err)
		}
	}()
	w.log.Info("serving metrics", "addr", m.addr, "paths", "/metrics /healthz")
	return nil
}

// close stops the metrics server, if it runs.
func (m *metrics) close() {
	m.mu.Lock()
	srv := m.srv
	m.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// MetricsAddr is the address /metrics is served on ("" when not serving).
func (w *Worker) MetricsAddr() string {
	w.metrics.mu.Lock()
	defer w.metrics.mu.Unlock()
	return w.metrics.addr
}

// healthz answers 200 "ok" while the worker takes work, 503 once it is
// shutting down (draining).
func (w *Worker) healthz(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	if err := w.admitting(); err != nil {
		rw.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(rw, "shutting down")
		return
	}
	fmt.Fprintln(rw, "ok")
}

// bytes is the size of the cached artifacts.
func (c *cache) bytes() int64 {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range ents {
		if !artifact.ValidSHA(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			total += fi.Size()
		}
	}
	return total
}
