package bench

import (
	"bytes"
	"context"
	"strings"
)

// GoBench is one result line of `go test -bench`.
type GoBench struct {
	Package string
	Name    string
	// Metrics maps a unit (ns/op, MB/s, B/op, allocs/op) to its value as
	// printed.
	Metrics map[string]string
}

// goBenchPackages hold the Benchmark functions make bench runs: the
// map-side sort and spill and the reduce-side merge (task), and the
// record files between them (io/recordio).
var goBenchPackages = []string{"./task/", "./io/recordio/"}

func runGoBench(ctx context.Context, cfg *Config) ([]GoBench, error) {
	return goTest(ctx, cfg, append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}, goBenchPackages...))
}

// scaleArgs runs the tracker simulation (tracker/scale_test.go): whole
// jobs up to 1,000 workers × 8 slots, 100,000 maps and 1,000 reduces,
// driven through the real tracker by a fake cluster, once each.
var scaleArgs = []string{"test", "-run", "^$", "-bench", "^BenchmarkScale$", "-benchtime", "1x", "-timeout", "20m", "./tracker/"}

// runScale runs the tracker simulation.
func runScale(ctx context.Context, cfg *Config) ([]GoBench, error) {
	return goTest(ctx, cfg, scaleArgs)
}

// goTest runs `go args...` and reads the benchmark lines it prints.
func goTest(ctx context.Context, cfg *Config, args []string) ([]GoBench, error) {
	logf(cfg.Log, "go %s", strings.Join(args, " "))
	cmd, _ := command(ctx, cfg, "go", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if _, err := timed(cmd); err != nil {
		cfg.Log.Write(out.Bytes())
		return nil, err
	}
	return parseGoBench(out.String()), nil
}

// parseGoBench reads `go test -bench` output.
func parseGoBench(out string) []GoBench {
	var res []GoBench
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "pkg:":
			pkg = f[1]
		case len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark"):
			b := GoBench{Package: pkg, Name: f[0], Metrics: map[string]string{}}
			for i := 2; i+1 < len(f); i += 2 {
				b.Metrics[f[i+1]] = f[i]
			}
			res = append(res, b)
		}
	}
	return res
}
