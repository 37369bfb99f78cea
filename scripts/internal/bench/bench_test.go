package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/weedbin"
)

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/distmr/dist/task
BenchmarkMapSortSpill/combine=false-2   3  452020445 ns/op   9.28 MB/s  36216952 B/op  293851 allocs/op
PASS
pkg: github.com/distmr/dist/io/recordio
BenchmarkWrite-2   1000   17.32 ns/op   635.22 MB/s   0 B/op   0 allocs/op
`
	got := parseGoBench(out)
	if len(got) != 2 || got[0].Package != "github.com/distmr/dist/task" || got[0].Metrics["allocs/op"] != "293851" ||
		got[1].Name != "BenchmarkWrite-2" || got[1].Metrics["MB/s"] != "635.22" {
		t.Fatalf("parsed %+v", got)
	}
}

func TestParseScale(t *testing.T) {
	out := `pkg: github.com/distmr/dist/tracker
BenchmarkScale/workers=100/maps=10000/reduces=100-2   1   770000000 ns/op   27900 events/s   10000 locs/reduce   20.10 peak-heap-MiB   0.7700 s/job
`
	got := parseGoBench(out)
	if len(got) != 1 || got[0].Metrics["events/s"] != "27900" || got[0].Metrics["s/job"] != "0.7700" ||
		got[0].Metrics["peak-heap-MiB"] != "20.10" || got[0].Metrics["locs/reduce"] != "10000" {
		t.Fatalf("parsed %+v", got)
	}
	if s := scaleShape(got[0].Name); s != "100, 10000, 100" {
		t.Fatalf("scaleShape(%q) = %q", got[0].Name, s)
	}
}

func TestUpdateKeepsNotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCH.md")
	if err := update(path, beginMarker+"\nfirst\n"+endMarker+"\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	notes := string(b) + "\n## Notes\n\nkept\n"
	if err := os.WriteFile(path, []byte(notes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := update(path, beginMarker+"\nsecond\n"+endMarker+"\n"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	s := string(b)
	if strings.Contains(s, "first") || !strings.Contains(s, "second") || !strings.Contains(s, "## Notes\n\nkept") {
		t.Fatalf("BENCH.md after two runs:\n%s", s)
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 20; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(ds, 50); p != 10*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(ds, 95); p != 19*time.Millisecond {
		t.Errorf("p95 = %v", p)
	}
	if m := median(ds[:3]); m != 19*time.Millisecond {
		t.Errorf("median of 20,19,18 ms = %v", m)
	}
}

func TestRenderWithoutCluster(t *testing.T) {
	r := &Results{
		Machine: Machine{Cores: 2, CPU: "test CPU"},
		Words: &WordCount{InputBytes: 100e6, Files: 4, Dist: []time.Duration{time.Second}, Baseline: []time.Duration{2 * time.Second},
			Halves: []time.Duration{time.Second}, PeakRSS: 300e6},
		Skipped: []string{"warm job and shipping: unavailable: ZooKeeper not installed"},
	}
	s := Render(r)
	for _, want := range []string{beginMarker, "**2 cores**", "**0.50**", "| met |", "Not measured: warm job", endMarker} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

func TestRenderDataRows(t *testing.T) {
	sec := []time.Duration{time.Second}
	r := &Results{
		Machine: Machine{Cores: 2},
		Words: &WordCount{InputBytes: 100e6, Files: 4, Dist: sec, Baseline: sec, Halves: sec,
			DistS3: []time.Duration{2 * time.Second}, Upload: time.Second, DataS3: ClientData{In: 0, Out: 0}},
		Sort: &Sort{InputBytes: 200e6, Files: 4, Lines: 2e6, Digest: strings.Repeat("ab", 32),
			Dist: []time.Duration{3 * time.Second}, DistS3: []time.Duration{4 * time.Second}, GNU: []time.Duration{2 * time.Second},
			Upload: time.Second, Data: ClientData{In: 5, Out: 7}},
		Tera: &TeraSort{Rows: 1e7, Bytes: 1e9, Reduces: 4, Checksum: 42, Digest: strings.Repeat("cd", 32),
			Gen: time.Second, Sort: 10 * time.Second, Validate: time.Second, GNU: 8 * time.Second, PeakRSS: 300e6},
		Small: &SmallFiles{Files: 2000, Words: 200, Bytes: 2.4e6, Dist: []time.Duration{400 * time.Millisecond, 300 * time.Millisecond, 2 * time.Second}},
		S3:    "v1.2.3",
	}
	s := Render(r)
	for _, want := range []string{
		"input and output on S3 ÷ local | **2.00** (S3 2.00 s, local 1.00 s)",
		"client data bytes of the word count: local / S3 | **in 0, out 0 / in 0, out 0** | 0 and 0 | met |",
		"÷ `sort --parallel=2 -o FILE` | **1.50** (dist 3.00 s, sort 2.00 s; 1 runs each)",
		"on S3 ÷ `sort --parallel=2 -o FILE` | **2.00** (S3 4.00 s; 1.33 × local dist)",
		"client data bytes of the sort: local / S3 | **in 5, out 7 / in 0, out 0** | 0 and 0 | missed |",
		"SeaweedFS v1.2.3",
		"TeraSort, 1000 MB of teragen's records, `--total-order --reduces 4 --local 2`: rate, and ÷ `sort --parallel=2 -o FILE` | **100 MB/s, 1.25** (dist 10.00 s, sort 8.00 s; one run each)",
		"peak RSS of the whole tree during TeraSort | **300 MB** | ≤ 400 MB | met |",
		"teravalidate (1.00 s) said ok to 10000000 records with checksum 42",
		"word count over 2000 files of 200 words (2.4 MB), `dist run --local 2` | **0.40 s** (0.40, 0.30, 2.00 s) | ≤ 1.50 s | met |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}

	// Without a store: no S3 rows, and the local client data alone.
	r.Words.DistS3, r.Sort.DistS3, r.S3 = nil, nil, ""
	s = Render(r)
	if strings.Contains(s, "S3") || !strings.Contains(s, "client data bytes of the sort: local | **in 5, out 7** |") {
		t.Errorf("report without a store:\n%s", s)
	}
}

func TestParseExports(t *testing.T) {
	out := "export AWS_ENDPOINT_URL=http://127.0.0.1:4567\n" +
		"export AWS_ACCESS_KEY_ID=id AWS_SECRET_ACCESS_KEY=secret AWS_REGION=us-east-1\n"
	vars, err := parseExports(out)
	if err != nil {
		t.Fatal(err)
	}
	if vars["AWS_ENDPOINT_URL"] != "http://127.0.0.1:4567" || vars["AWS_SECRET_ACCESS_KEY"] != "secret" || vars["AWS_REGION"] != "us-east-1" {
		t.Fatalf("parsed %v", vars)
	}
	if _, err := parseExports("export AWS_ENDPOINT_URL=http://x\n"); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("missing keys: err %v", err)
	}
}

func TestParseClientData(t *testing.T) {
	summary := "job j succeeded in 1s\n  client data bytes: in 104857600, out 0\n  output out\n"
	d, err := parseClientData(summary)
	if err != nil || d != (ClientData{In: 104857600}) {
		t.Fatalf("got %+v, %v", d, err)
	}
	if _, err := parseClientData("job j succeeded\n"); err == nil {
		t.Fatal("a summary without the line parsed")
	}
}

func TestWeedNotBuilt(t *testing.T) {
	t.Setenv("WEED", "")
	t.Setenv("DIST_CACHE", t.TempDir())
	_, err := weedBuilt("../../..")
	if !isUnavailable(err) || !strings.Contains(err.Error(), "make weed") {
		t.Fatalf("no weed: %v, want unavailable naming make weed", err)
	}
	if v, err := weedbin.Version("../../.."); err != nil || !strings.HasPrefix(v, "v") {
		t.Fatalf("pinned version %q, %v", v, err)
	}
}

// The sort input is the same every time, and each line is 99 printable
// bytes and a newline.
func TestGenLines(t *testing.T) {
	gen := func() [][]byte {
		files, err := genLines(t.TempDir(), 2, 1001)
		if err != nil {
			t.Fatal(err)
		}
		var data [][]byte
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			data = append(data, b)
		}
		return data
	}
	a, b := gen(), gen()
	if len(a) != 2 || len(a[0])+len(a[1]) != 1001*sortLineLen || !bytes.Equal(a[0], b[0]) || !bytes.Equal(a[1], b[1]) {
		t.Fatalf("files of %d and %d bytes, not the same twice", len(a[0]), len(a[1]))
	}
	for _, line := range bytes.SplitAfter(a[0], []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if len(line) != sortLineLen || line[sortLineLen-1] != '\n' {
			t.Fatalf("line %q", line)
		}
		for _, c := range line[:sortLineLen-1] {
			if c < ' ' || c > '~' {
				t.Fatalf("line %q holds byte %#x", line, c)
			}
		}
	}
}
