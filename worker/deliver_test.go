package worker

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A successful attempt's part goes where the launch's Output says: into
// the client's staging directory when the worker shares its host, or to
// S3 as an uncompleted upload.

// partRequest is a map-only word count over a staged split, writing its
// part to out.
func partRequest(t testing.TB, s *proto.Session, job, art string, params map[string]string, out *proto.OutputTarget) *proto.LaunchRequest {
	t.Helper()
	req := mapRequest(job, 0, 0, 0, art, params)
	putInput(t, s, job, req.Config.Task, 0, "b a b\n")
	req.Output = out
	return req
}

func localTarget(dir string) *proto.OutputTarget {
	return &proto.OutputTarget{Kind: string(storage.Local), Name: dir, Host: storage.HostID()}
}

// dirHolds checks dir holds exactly names.
func dirHolds(t testing.TB, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if fmt.Sprint(got) != fmt.Sprint(names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestOutputPlaced(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	staging := filepath.Join(t.TempDir(), "out", "_attempts", "m-00000-0")

	ev, part := succeed(t, s, partRequest(t, s, "placed", art, nil, localTarget(staging)))
	if !ev.Placed {
		t.Fatal("the part was not placed")
	}
	b, err := os.ReadFile(filepath.Join(staging, spec.PartName(0)))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != part || part == "" {
		t.Fatalf("placed %q, out/ holds %q", b, part)
	}
	dirHolds(t, staging, spec.PartName(0)) // no temporary file left

	// A reduce's part goes the same way.
	mo := runMapAttempt(t, w, s, "wc", 0, 0, art, "b a b\n")
	reduce := reduceRequest("wc", 0, 1, art, []proto.MapOutput{mo})
	reduce.Output = localTarget(filepath.Join(t.TempDir(), "r-00000-0"))
	if ev, part := succeed(t, s, reduce); !ev.Placed || part != "a\t1\nb\t2\n" {
		t.Fatalf("reduce placed %v its part %q", ev.Placed, part)
	}
	dirHolds(t, reduce.Output.Name, spec.PartName(0))

	// Another host, or a directory the worker cannot write: the client
	// fetches the part, and the attempt still succeeds.
	other := localTarget(filepath.Join(t.TempDir(), "other"))
	other.Host = "another-host"
	if ev, _ := succeed(t, s, partRequest(t, s, "elsewhere", art, nil, other)); ev.Placed {
		t.Fatal("placed on another host")
	}
	dirHolds(t, other.Name)
	blocked := filepath.Join(t.TempDir(), "file")
	putFile(t, blocked, "not a directory")
	if ev, _ := succeed(t, s, partRequest(t, s, "blocked", art, nil, localTarget(filepath.Join(blocked, "sub")))); ev.Placed {
		t.Fatal("placed under a file")
	}

	failWith(t, s, partRequest(t, s, "relative", art, nil, localTarget("out/x")), proto.CodeBadRequest, "not an absolute path")
	req := mapRequest("with-reduces", 0, 0, 2, art, nil)
	req.Output = localTarget(staging)
	failWith(t, s, req, proto.CodeBadRequest, "only reduces and the maps of map-only jobs write parts")
}

// A part the task replaced with a symlink is not followed into the
// client's directory: the attempt fails.
func TestOutputPlantedSymlink(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	secret := filepath.Join(t.TempDir(), "secret")
	putFile(t, secret, "the worker's secret\n")
	staging := filepath.Join(t.TempDir(), "staging")

	req := partRequest(t, s, "plant", art, map[string]string{"mode": "plant", "secret": secret}, localTarget(staging))
	ev := finalEvent(t, s, req)
	wireCode(t, ev.Error.Err(), proto.CodeTaskFailed, "as a symlink")
	if ev.Placed {
		t.Fatal("placed a planted symlink")
	}
	dirHolds(t, staging)
}

func TestOutputS3(t *testing.T) {
	store := newFakeStore()
	w := newTestWorker(t, func(c *Config) { c.ObjectStore = func() (ObjectStore, error) { return store, nil } })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	target := &proto.OutputTarget{Kind: string(storage.S3), Name: "s3://out/wc/part-00000"}

	ev, part := succeed(t, s, partRequest(t, s, "up", art, nil, target))
	up := ev.Upload
	if up == nil || ev.Placed {
		t.Fatalf("upload %v placed %v", up, ev.Placed)
	}
	if up.Name != target.Name || up.Size != int64(len(part)) || up.CRC32C != crc([]byte(part)) || len(up.Parts) != 1 {
		t.Fatalf("upload %+v for a part of %d bytes", up, len(part))
	}
	if got := store.uploaded(up.UploadID); string(got) != part {
		t.Fatalf("the store received %q, out/ holds %q", got, part)
	}

	// The store receiving other bytes than the task wrote fails the
	// attempt, as its errors do, each with its meaning.
	store.set(func(s *fakeStore) { s.received = 1 })
	failWith(t, s, partRequest(t, s, "short", art, nil, target), proto.CodeChecksum, "the store received 1 bytes")
	store.set(func(s *fakeStore) { s.received, s.fail = 0, errFakeDenied })
	if e := failWith(t, s, partRequest(t, s, "denied", art, nil, target), proto.CodeStorage, "cannot write s3://out/wc/part-00000"); e.Retryable {
		t.Error("access denied is retryable")
	}
	store.set(func(s *fakeStore) { s.fail = errFakeUnreachable })
	if e := failWith(t, s, partRequest(t, s, "down", art, nil, target), proto.CodeStorage, "connection refused"); !e.Retryable {
		t.Error("an unreachable store is not retryable")
	}
}

// The worker's S3 credentials are its own: none reaches a task's
// environment, an event, a log line or the metrics.
func TestCredentialsStayWithTheWorker(t *testing.T) {
	const secret = "wJalrXUtnFEMI-not-a-real-key"
	for _, v := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"} {
		t.Setenv(v, secret)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	store := newFakeStore()
	logs := &logTap{t: t}
	w := newTestWorker(t, func(c *Config) {
		c.MetricsAddr = "127.0.0.1:0"
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.ObjectStore = func() (ObjectStore, error) {
			if os.Getenv("AWS_SECRET_ACCESS_KEY") != secret {
				t.Error("the store does not see the worker's credentials")
			}
			return store, nil
		}
	})
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	obj := store.put("s3://in/x.txt", []byte("one line\n"))
	req := mapRequest("env", 0, 0, 0, art, map[string]string{"mode": "env"})
	req.Config.Split.Name = obj.Name
	req.Input = s3Source(obj, 0, obj.Size, false)
	req.Output = &proto.OutputTarget{Kind: string(storage.S3), Name: "s3://out/env/part-00000"}

	evs := runToEnd(t, s, req)
	final := evs[len(evs)-1]
	if final.Error != nil {
		t.Fatal(final.Error)
	}
	env := string(store.uploaded(final.Upload.UploadID))
	if !strings.Contains(env, spec.EnvTaskDir+"=") {
		t.Fatalf("the task's environment was not recorded: %q", env)
	}
	resp, err := http.Get("http://" + w.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{
		"the task's environment": env,
		"the events":             fmt.Sprintf("%+v", evs),
		"the worker's log":       logs.text(),
		"the metrics":            string(metrics),
	} {
		if strings.Contains(text, secret) || strings.Contains(text, "AWS_") {
			t.Errorf("%s holds the credentials:\n%s", what, text)
		}
	}
}

func (l *logTap) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
