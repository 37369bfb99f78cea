package s3store

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/distmr/dist/io/storage"
	"github.com/minio/minio-go/v7"
)

// listOne lists the one object url.
func listOne(t testing.TB, s *Store, url string) storage.Object {
	t.Helper()
	objs, err := s.List(testCtx(t), url)
	if err != nil || len(objs) != 1 {
		t.Fatalf("List(%s) = %v, %v; want one object", url, objs, err)
	}
	return objs[0]
}

// readAt reads Open(off, n) of obj whole.
func readAt(t testing.TB, s *Store, obj storage.Object, off, n int64) ([]byte, error) {
	t.Helper()
	r, err := s.Open(testCtx(t), obj, off, n)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return got, err
}

func testOpenRanges(t *testing.T, f *fixture) {
	b := f.bucket(t, "ranges")
	data := "0123456789abcdefghij"
	f.put(t, b, map[string]string{"r.txt": data})
	s := newStore(t)
	obj := listOne(t, s, "s3://ranges/r.txt")
	for _, tc := range []struct{ off, n int64 }{
		{0, -1}, {0, 20}, {0, 1}, {5, 3}, {19, 1}, {19, -1}, {10, 100}, {20, -1}, {20, 5}, {3, 0},
	} {
		want := data[tc.off:]
		if tc.n >= 0 && tc.off+tc.n < int64(len(data)) {
			want = data[tc.off : tc.off+tc.n]
		}
		got, err := readAt(t, s, obj, tc.off, tc.n)
		if err != nil || string(got) != want {
			t.Errorf("Open(%d, %d) read %q, %v; want %q", tc.off, tc.n, got, err, want)
		}
	}
}

// The line rule over ranged reads: every split of every object read as
// storage.OwnedLines over Open(off-1, -1); the splits' lines, in order,
// must be the object.
func testOpenLineRule(t *testing.T, f *fixture) {
	b := f.bucket(t, "lines")
	cases := map[string]string{
		"empty.txt":         "",
		"edge.txt":          "abcd\nefgh\nijkl\n", // with splits of 5, each line ends exactly at an edge
		"long-line.txt":     "a\n" + strings.Repeat("x", 40) + "\nb\n",
		"no-newline.txt":    "abc\ndef\nghi",
		"crlf.txt":          "ab\r\ncd\r\nef\r\n",
		"only-newlines.txt": "\n\n\n\n",
	}
	f.put(t, b, cases)
	s := newStore(t)
	for name, data := range cases {
		obj := listOne(t, s, "s3://lines/"+name)
		for _, size := range []int64{1, 2, 3, 4, 5, 7, 11, int64(len(data)), int64(len(data)) + 1} {
			if size == 0 {
				continue
			}
			var all []byte
			for off := int64(0); off < obj.Size || off == 0; off += size {
				n := min(size, obj.Size-off)
				r, err := s.Open(testCtx(t), obj, max(off-1, 0), -1)
				if err != nil {
					t.Fatalf("%s: Open(%d, -1): %v", name, max(off-1, 0), err)
				}
				got, err := io.ReadAll(storage.OwnedLines(r, off, n))
				r.Close()
				if err != nil {
					t.Fatalf("%s split %d+%d: %v", name, off, n, err)
				}
				all = append(all, got...)
				if obj.Size == 0 {
					break
				}
			}
			if string(all) != data {
				t.Errorf("%s in splits of %d: the splits' lines are %q, want %q", name, size, all, data)
			}
		}
	}
}

func testOpenChanged(t *testing.T, f *fixture) {
	b := f.bucket(t, "changed")
	f.put(t, b, map[string]string{"same-size.txt": "one\n", "new-size.txt": "one\n", "gone.txt": "one\n", "empty.txt": ""})
	s := newStore(t)
	same := listOne(t, s, "s3://changed/same-size.txt")
	grown := listOne(t, s, "s3://changed/new-size.txt")
	gone := listOne(t, s, "s3://changed/gone.txt")
	empty := listOne(t, s, "s3://changed/empty.txt")
	f.put(t, b, map[string]string{"same-size.txt": "two\n", "new-size.txt": "three\n", "empty.txt": "now some\n"})
	if err := s.Delete(testCtx(t), "s3://changed/gone.txt"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		obj  storage.Object
		off  int64
		want string
	}{
		{same, 0, "S3 object s3://changed/same-size.txt changed since the job listed it (ETag " + same.Version + "): rerun the job on input that stays put"},
		{same, 2, "S3 object s3://changed/same-size.txt changed since the job listed it (ETag " + same.Version + "): rerun the job on input that stays put"},
		{grown, 1, "S3 object s3://changed/new-size.txt changed since the job listed it (ETag " + grown.Version + "): rerun the job on input that stays put"},
		{gone, 0, "S3 object s3://changed/gone.txt was deleted since the job listed it: restore it and rerun the job"},
		{empty, 0, "S3 object s3://changed/empty.txt changed since the job listed it (ETag " + empty.Version + "): rerun the job on input that stays put"},
	} {
		got, err := readAt(t, s, tc.obj, tc.off, -1)
		if !errors.Is(err, ErrChanged) || !errors.Is(err, storage.ErrChanged) || err.Error() != tc.want || Retryable(err) {
			t.Errorf("Open(%s, %d) read %q, %v\nwant ErrChanged saying %s", tc.obj.Name, tc.off, got, err, tc.want)
		}
	}
	// A size that differs from the listing with the same ETag (as a store
	// without If-Match support would let through) is a change too.
	cur := listOne(t, s, "s3://changed/new-size.txt")
	cur.Size--
	if _, err := readAt(t, s, cur, 0, -1); !errors.Is(err, ErrChanged) {
		t.Errorf("reading with a wrong size: %v, want ErrChanged", err)
	}
}

// A stream cut mid-way is resumed from where it stopped, a bounded
// number of times.
func testOpenResumes(t *testing.T, f *fixture) {
	b := f.bucket(t, "resume")
	data := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	if _, err := f.admin.PutObject(testCtx(t), b, "big.bin", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj := listOne(t, newStore(t), "s3://resume/big.bin")

	p := startCutter(t, f.srv.Host(), 64<<10)
	t.Setenv("AWS_ENDPOINT_URL", "http://"+p.addr())
	s := newStore(t)

	p.cuts.Store(3)
	got, err := readAt(t, s, obj, 1000, -1)
	if err != nil || !bytes.Equal(got, data[1000:]) {
		t.Fatalf("read through a connection cut 3 times: %d bytes, %v; want %d bytes equal to the object's", len(got), err, len(data)-1000)
	}
	if p.cuts.Load() != 0 {
		t.Fatalf("%d cuts left: the read did not go through the cutting proxy", p.cuts.Load())
	}

	p.cuts.Store(maxResumes + 2)
	_, err = readAt(t, s, obj, 0, -1)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "broke off 6 times") || !Retryable(err) {
		t.Fatalf("read through a connection cut %d times: %v; want ErrUnreachable after %d resumes", maxResumes+2, err, maxResumes)
	}
}

// cutter is a TCP proxy to a store that closes a connection once it has
// passed limit bytes towards the client, while cuts > 0.
type cutter struct {
	ln    net.Listener
	to    string
	limit int64
	cuts  atomic.Int64
	wg    sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]bool // open client connections, closed by the cleanup
	closed bool
}

func startCutter(t *testing.T, to string, limit int64) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutter{ln: ln, to: to, limit: limit, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close() // idle keep-alive connections of the clients
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cutter) addr() string { return p.ln.Addr().String() }

func (p *cutter) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.relay(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
		}()
	}
}

func (p *cutter) relay(c net.Conn) {
	up, err := net.Dial("tcp", p.to)
	if err != nil {
		c.Close()
		return
	}
	requests := make(chan struct{})
	go func() {
		defer close(requests)
		io.Copy(up, c)
	}()
	defer func() {
		c.Close()
		up.Close()
		<-requests
	}()
	var passed int64
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			passed += int64(n)
			if passed > p.limit && p.cuts.Load() > 0 {
				p.cuts.Add(-1)
				return // drop the connection mid-response
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
