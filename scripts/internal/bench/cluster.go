package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/distmr/dist/internal/workerproc"
)

// errUnavailable marks what the machine lacks (ZooKeeper, java): the
// measurement is skipped, not failed.
var errUnavailable = errors.New("unavailable")

func isUnavailable(err error) bool { return errors.Is(err, errUnavailable) }

// zkCluster is a private ZooKeeper (scripts/zk-local.sh) with three
// `dist worker` daemons registered in it.
type zkCluster struct {
	cfg     *Config
	zkDir   string
	zkAddr  string
	workers []*workerproc.Proc
}

// clusterWorkers and clusterSlots shape the warm cluster.
const (
	clusterWorkers = 3
	clusterSlots   = 2
)

func startCluster(ctx context.Context, cfg *Config) (*zkCluster, error) {
	c := &zkCluster{cfg: cfg, zkDir: filepath.Join(cfg.Work, "zk")}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf(cfg.Log, "starting ZooKeeper on port %d and %d workers", port, clusterWorkers)
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(cfg.Root, "scripts", "zk-local.sh"), "start", c.zkDir)
	cmd.Env = append(os.Environ(), "ZK_PORT="+strconv.Itoa(port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "not installed") || strings.Contains(msg, "java not found") {
			return nil, fmt.Errorf("%w: %s", errUnavailable, lastLine(msg))
		}
		c.stopZK()
		return nil, fmt.Errorf("zk-local.sh start: %v: %s", err, msg)
	}
	c.zkAddr = lastLine(strings.TrimSpace(string(out)))
	for i := range clusterWorkers {
		if err := c.startWorker(ctx, i); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

// startWorker starts worker i and waits for its ready line, which it
// prints once it listens and is registered.
func (c *zkCluster) startWorker(ctx context.Context, i int) error {
	dir := filepath.Join(c.cfg.Work, fmt.Sprintf("worker-%d", i))
	p, err := workerproc.Start(ctx, workerproc.Config{
		Binary: filepath.Join(c.cfg.Bin, "dist"),
		Args: []string{"--listen", "127.0.0.1:0",
			"--zk", c.zkAddr, "--slots", strconv.Itoa(clusterSlots), "--dir", dir},
		Log: dir + ".log",
	})
	if err != nil {
		return fmt.Errorf("worker %d: %w", i, err)
	}
	c.workers = append(c.workers, p)
	return nil
}

// stop ends the workers (SIGTERM, as an operator would) and ZooKeeper.
func (c *zkCluster) stop() {
	for _, w := range c.workers {
		w.Signal(syscall.SIGTERM) // all at once: they drain side by side
	}
	for _, w := range c.workers {
		w.Stop(20 * time.Second)
	}
	c.workers = nil
	c.stopZK()
}

func (c *zkCluster) stopZK() {
	cmd := exec.Command("bash", filepath.Join(c.cfg.Root, "scripts", "zk-local.sh"), "stop", c.zkDir)
	cmd.Stderr = c.cfg.Log
	_ = cmd.Run()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
