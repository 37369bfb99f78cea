package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
