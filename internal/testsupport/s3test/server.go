package s3test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/logtail"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// readyTimeout bounds a start; weed serves in a second or two, a
	// loaded CI machine may take longer.
	readyTimeout = 90 * time.Second
	// pollInterval spaces readiness probes.
	pollInterval = 50 * time.Millisecond
	// portAttempts bounds retries when a chosen port was taken.
	portAttempts = 5
	// logTailLines is how much of the server log a failure shows.
	logTailLines = 40
)

// The one identity a test store has.
const (
	AccessKey = "s3test"
	SecretKey = "s3test-secret"
	Region    = "us-east-1"
)

var errPortInUse = errors.New("port already in use")

// Server is an S3-compatible store run by a test.
type Server struct {
	t     testing.TB
	weed  string
	dir   string
	ports ports

	cmd    *exec.Cmd
	exited chan struct{} // closed when Wait returned
	err    error         // Wait's error, set before exited closes
}

// ports are the server's listening ports on 127.0.0.1.
type ports struct {
	s3, s3GRPC, master, masterGRPC, volume, volumeGRPC, filer, filerGRPC int
}

// Start starts a store for the test and kills it when the test ends. It
// skips the test when weed is not built (fails when CI=true).
func Start(t testing.TB) *Server {
	t.Helper()
	weed, err := findWeed()
	if err != nil {
		unavailable(t, err)
	}
	s := &Server{t: t, weed: weed, dir: t.TempDir()}
	if err := os.Mkdir(filepath.Join(s.dir, "data"), 0o755); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	if err := s.writeConfig(); err != nil {
		t.Fatalf("s3test: %v", err)
	}
	t.Cleanup(s.cleanup)
	for attempt := 1; ; attempt++ {
		if s.ports, err = freePorts(); err != nil {
			t.Fatalf("s3test: %v", err)
		}
		err = s.launch()
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			t.Fatalf("s3test: starting %s: %v", s.weed, err)
		}
		t.Logf("s3test: a port was taken; trying others")
	}
}

// Endpoint is the S3 endpoint, "http://127.0.0.1:<port>".
func (s *Server) Endpoint() string { return "http://" + s.Host() }

// Host is the S3 endpoint's "127.0.0.1:<port>".
func (s *Server) Host() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.ports.s3)) }

// Env returns the AWS_* variables that point an S3 client (or a child
// process) at the store.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint(),
		"AWS_ACCESS_KEY_ID=" + AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + SecretKey,
		"AWS_REGION=" + Region,
	}
}

// Client returns a minio-go client of the store.
func (s *Server) Client() *minio.Client {
	s.t.Helper()
	c, err := minio.New(s.Host(), &minio.Options{
		Creds:  credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region: Region,
	})
	if err != nil {
		s.t.Fatalf("s3test: minio client: %v", err)
	}
	return c
}

// LogPath is the server's log.
func (s *Server) LogPath() string { return filepath.Join(s.dir, "weed.log") }

func (s *Server) configPath() string { return filepath.Join(s.dir, "s3.json") }

// s3Config is SeaweedFS's S3 -config file: identities and what they may do.
type s3Config struct {
	Identities []identity `json:"identities"`
}

type identity struct {
	Name        string       `json:"name"`
	Credentials []credential `json:"credentials"`
	Actions     []string     `json:"actions"`
}

type credential struct {
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
}

func (s *Server) writeConfig() error {
	b, err := json.MarshalIndent(s3Config{Identities: []identity{{
		Name:        "s3test",
		Credentials: []credential{{AccessKey: AccessKey, SecretKey: SecretKey}},
		Actions:     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.configPath(), b, 0o600)
}

// launch starts weed and waits until the store takes writes.
func (s *Server) launch() error {
	s.t.Helper()
	logf, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p := s.ports
	args := []string{"server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-dir=" + filepath.Join(s.dir, "data"),
		"-master.port=" + itoa(p.master), "-master.port.grpc=" + itoa(p.masterGRPC),
		"-master.volumeSizeLimitMB=64", "-master.telemetry=false",
		"-volume.port=" + itoa(p.volume), "-volume.port.grpc=" + itoa(p.volumeGRPC),
		"-volume.max=0", "-volume.preStopSeconds=0",
		"-filer", "-filer.port=" + itoa(p.filer), "-filer.port.grpc=" + itoa(p.filerGRPC),
		"-filer.localSocket=" + filepath.Join(s.dir, "filer.sock"),
		"-s3", "-s3.port=" + itoa(p.s3), "-s3.port.grpc=" + itoa(p.s3GRPC),
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.localSocket=" + filepath.Join(s.dir, "s3.sock"),
		"-s3.config=" + s.configPath(),
	}
	cmd := exec.Command(s.weed, args...)
	cmd.Dir = s.dir // no filer.toml of the caller's directory applies
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	began := time.Now()
	err = cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		return fmt.Errorf("running %s: %w", s.weed, err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.stop()
		return err
	}
	s.t.Logf("s3test: S3 serving at %s after %v (pid %d, dir %s)", s.Endpoint(), time.Since(began).Round(time.Millisecond), cmd.Process.Pid, s.dir)
	return nil
}

// waitReady polls until the gateway and filer answer and a volume server
// has joined the master: before that a bucket's first write may fail.
func (s *Server) waitReady() error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if s.ready() {
			return nil
		}
		select {
		case <-s.exited:
			tail := s.logTail()
			if strings.Contains(tail, "address already in use") {
				return errPortInUse
			}
			return fmt.Errorf("weed exited (%v) before serving; %s ends:\n%s", s.err, s.LogPath(), tail)
		case <-deadline.C:
			return fmt.Errorf("S3 not ready at %s after %v; %s ends:\n%s", s.Endpoint(), readyTimeout, s.LogPath(), s.logTail())
		case <-tick.C:
		}
	}
}

func (s *Server) ready() bool {
	if _, ok := httpGet(s.ports.s3, "/healthz"); !ok {
		return false
	}
	if _, ok := httpGet(s.ports.filer, "/healthz"); !ok {
		return false
	}
	body, ok := httpGet(s.ports.master, "/dir/status")
	if !ok {
		return false
	}
	var st struct {
		Topology struct {
			DataCenters []struct {
				Racks []struct {
					DataNodes []json.RawMessage
				}
			}
		}
	}
	if json.Unmarshal(body, &st) != nil {
		return false
	}
	for _, dc := range st.Topology.DataCenters {
		for _, r := range dc.Racks {
			if len(r.DataNodes) > 0 {
				return true
			}
		}
	}
	return false
}

// httpGet GETs path on 127.0.0.1:port and says whether it answered 2xx.
func httpGet(port int, path string) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+itoa(port)+path, nil)
	if err != nil {
		return nil, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, err == nil && resp.StatusCode/100 == 2
}

// stop kills the server (its process group) and waits for it.
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	if err := kill(s.cmd.Process); err != nil {
		s.t.Errorf("s3test: killing weed (pid %d): %v", s.cmd.Process.Pid, err)
	}
	<-s.exited
	s.cmd = nil
	// A killed weed leaves the gRPC sockets it made at fixed paths, named
	// by the ports that were ours.
	p := s.ports
	for name, port := range map[string]int{"master": p.masterGRPC, "volume": p.volumeGRPC, "filer": p.filerGRPC, "s3": p.s3GRPC} {
		if err := os.Remove(localSocket(name, port)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.t.Errorf("s3test: %v", err)
		}
	}
}

// localSocket is where weed server puts a service's gRPC Unix socket
// (not configurable in the pinned version).
func localSocket(service string, grpcPort int) string {
	return fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", service, grpcPort)
}

func (s *Server) cleanup() {
	s.stop()
	if s.t.Failed() {
		s.t.Logf("s3test: last lines of %s:\n%s", s.LogPath(), s.logTail())
	}
}

// logTail returns the last lines of the server log.
func (s *Server) logTail() string { return logtail.Read(s.LogPath(), logTailLines) }

// freePorts asks the kernel for eight distinct free ports on 127.0.0.1,
// holding each until all are chosen. Another process may take one before
// weed binds it; Start retries then.
func freePorts() (ports, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var n [8]int
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("finding a free port: %w", err)
		}
		lns = append(lns, ln)
		n[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports{n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
