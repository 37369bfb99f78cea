package bench

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Markers around the generated part of BENCH.md.
const (
	beginMarker = "<!-- bench:begin -->"
	endMarker   = "<!-- bench:end -->"
)

// Render formats the results as Markdown, between the markers.
func Render(r *Results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	m := r.Machine
	p("%s", beginMarker)
	p("Measured %s by `make bench` in %v: **%d cores** (%s), %s, %s; load average at the start %s.",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Took.Round(time.Second), m.Cores, m.CPU, m.OS, m.GoVersion, m.Load)
	p("MB is 10^6 bytes. Times are medians unless marked.")
	p("")
	p("| figure | measured | target | |")
	p("|---|---|---|---|")
	if w := r.Words; w != nil {
		ratio := w.Ratio()
		verdict := "missed"
		switch {
		case ratio <= 0.7:
			verdict = "met"
		case ratio <= 1.0:
			verdict = "≤ 1.0 met, 0.7 missed"
		}
		p("| word count, %.0f MB in %d files, `dist run --local 2` ÷ single-process baseline | **%.2f** (dist %s, baseline %s; %d runs each) | ≤ 0.7 (must be ≤ 1.0) | %s |",
			mb(w.InputBytes), w.Files, ratio, secs(median(w.Dist)), secs(median(w.Baseline)), len(w.Dist), verdict)
		p("| peak RSS of the whole tree during that job (dist run + 2 workers + tasks) | **%.0f MB** | ≤ 400 MB | %s |",
			mb(w.PeakRSS), met(w.PeakRSS <= 400e6))
		if len(w.Plain) > 0 {
			p("| the same count without a Combine (`userapp/plaincount`: emit word, \"1\"; count in Reduce; `--reduces %d`, %.0f MB shuffled) ÷ the baseline | **%.2f** (dist %s, baseline %s) | ≤ 1.5 | %s |",
				plainReduces, mb(w.PlainShuffled), w.PlainRatio(), secs(median(w.Plain)), secs(median(w.Baseline)), met(w.PlainRatio() <= 1.5))
		}
		if len(w.DistS3) > 0 {
			p("| the same word count, input and output on S3 ÷ local | **%.2f** (S3 %s, local %s) | | |",
				w.RatioS3(), secs(median(w.DistS3)), secs(median(w.Dist)))
		}
		p("| client data bytes of the word count: local%s | **%s** | 0 and 0 | %s |",
			s3Label(w.DistS3), dataCells(w.Data, w.DataS3, w.DistS3), met(zero(w.Data, w.DataS3)))
	}
	if s := r.Sort; s != nil {
		p("| sort, %.0f MB of %d-byte lines, `dist run --local 2 --total-order --reduces %d` ÷ `sort --parallel=2 -o FILE` | **%.2f** (dist %s, sort %s; %d runs each) | ≤ 1.2 | %s |",
			mb(s.InputBytes), sortLineLen, sortReduces, s.Ratio(), secs(median(s.Dist)), secs(median(s.GNU)), len(s.Dist), met(s.Ratio() <= 1.2))
		if len(s.DistS3) > 0 {
			p("| the same sort, input and output on S3 ÷ `sort --parallel=2 -o FILE` | **%.2f** (S3 %s; %.2f × local dist) | | |",
				s.RatioS3(), secs(median(s.DistS3)), median(s.DistS3).Seconds()/median(s.Dist).Seconds())
		}
		p("| client data bytes of the sort: local%s | **%s** | 0 and 0 | %s |",
			s3Label(s.DistS3), dataCells(s.Data, s.DataS3, s.DistS3), met(zero(s.Data, s.DataS3)))
	}
	if t := r.Tera; t != nil {
		p("| TeraSort, %.0f MB of teragen's records, `--total-order --reduces %d --local 2`: rate, and ÷ `sort --parallel=2 -o FILE` | **%.0f MB/s, %.2f** (dist %s, sort %s; one run each) | | |",
			mb(t.Bytes), t.Reduces, t.MBps(), t.Ratio(), secs(t.Sort), secs(t.GNU))
		p("| peak RSS of the whole tree during TeraSort | **%.0f MB** | ≤ 400 MB | %s |", mb(t.PeakRSS), met(t.PeakRSS <= 400e6))
	}
	if sf := r.Small; sf != nil {
		p("| word count over %d files of %d words (%.1f MB), `dist run --local 2` | **%s** (%s) | ≤ %s | %s |",
			sf.Files, sf.Words, mb(sf.Bytes), secs(median(sf.Dist)), list(sf.Dist), secs(smallTarget), met(median(sf.Dist) <= smallTarget))
	}
	if w := r.Warm; w != nil {
		p50, p95 := percentile(w.Runs, 50), percentile(w.Runs, 95)
		p("| warm one-line job, 3 workers in ZooKeeper: whole `dist run --zk`, p50 / p95 of %d | **%s / %s** | p50 ≤ 40 ms | %s |",
			len(w.Runs), ms(p50), ms(p95), met(p50 <= 40*time.Millisecond))
	}
	if s := r.Shipping; s != nil {
		p("| cached artifact re-ship | **%d bytes** | 0 bytes | %s |", s.WarmBytes, met(s.WarmBytes == 0))
		rate := s.Rate() * (1 << 20) / 1e6
		p("| cold %d MiB artifact to %d workers, aggregate | **%.0f MB/s** | ≥ 500 MB/s | %s |",
			s.Size>>20, s.Workers, rate, met(rate >= 500))
	}
	p("")
	p("Context:")
	p("")
	if w := r.Words; w != nil {
		p("- Word count input: %d words, %d distinct; every dist output was checked word by word against the baseline's.", w.Words, w.Distinct)
		p("- The baseline split in two processes on half the input each, run at once: %s, a speedup of **%.2f×** from 2 cores on this machine (the best any two-process run can hope for); the baseline alone peaks at %.0f MB RSS.",
			secs(median(w.Halves)), w.Speedup(), mb(w.BaselineRSS))
		p("- All runs, in order: dist %s; baseline %s; halves %s.", list(w.Dist), list(w.Baseline), list(w.Halves))
		if len(w.Plain) > 0 {
			p("- Without a Combine (`userapp/plaincount`), run after each dist run above: %s; every output checked word by word against the baseline's.", list(w.Plain))
		}
		if len(w.DistS3) > 0 {
			p("- Word count on S3 (`--input 's3://%s/wc/*.txt' --output s3://%s/wc-N`), run after each local one: %s; every output downloaded and checked word by word. Uploading the input with minio-go took %s (%.0f MB/s).",
				inBucket, outBucket, list(w.DistS3), secs(w.Upload), mb(w.InputBytes)/w.Upload.Seconds())
		}
	}
	if s := r.Sort; s != nil {
		parts := "cat part-* of dist's output"
		if len(s.DistS3) > 0 {
			parts = "cat part-* of dist's output, local and downloaded from S3,"
		}
		p("- Sort input: %d lines of %d random printable bytes and \"\\n\" in %d files, from a fixed seed. Every output (%s and each of GNU sort's) had the same SHA-256, %s…: with `--total-order`, the maps partition by cut points sampled from the input, so the parts in order are one sorted file.",
			s.Lines, sortLineLen-1, s.Files, parts, s.Digest[:16])
		p("- All sort runs, in order: dist %s; GNU sort %s (%s, `LC_ALL=C`, peak RSS %.0f MB; dist's whole tree %.0f MB).",
			list(s.Dist), list(s.GNU), s.GNUVersion, mb(s.GNURSS), mb(s.PeakRSS))
		if len(s.DistS3) > 0 {
			p("- Sort on S3, run after each local one: %s. Uploading the input took %s (%.0f MB/s).",
				list(s.DistS3), secs(s.Upload), mb(s.InputBytes)/s.Upload.Seconds())
		}
	}
	if t := r.Tera; t != nil {
		p("- TeraSort: %d records made by teragen in %s; cat part-* of terasort's output and GNU sort's had the same SHA-256, %s…, and teravalidate (%s) said ok to %d records with checksum %d, worked out from teragen's files. GNU sort's peak RSS %.0f MB.",
			t.Rows, secs(t.Gen), t.Digest[:16], secs(t.Validate), t.Rows, t.Checksum, mb(t.GNURSS))
	}
	if r.S3 != "" {
		p("- The S3 store is SeaweedFS %s started by `scripts/s3-local.sh` on this machine: it shares the %d cores and the disk with the jobs, and loopback is its network.", r.S3, m.Cores)
	}
	if w := r.Warm; w != nil {
		p("- The same one-line job through package client with a ZooKeeper session open (the job alone): p50 %s, p95 %s. Starting the dist binary (`dist --help`): %s.",
			ms(percentile(w.Jobs, 50)), ms(percentile(w.Jobs, 95)), ms(w.Start))
		if r.Synced > 0 {
			p("- Before the warm job, the data parts' files were written out to disk (sync, %s), so that their writeback does not run during it; load average then %s.", secs(r.Synced), w.Load)
		}
	}
	if s := r.Shipping; s != nil {
		p("- Shipping: the job with the %d MiB program cold took %s and sent %.0f MB; with it cached %s (%d bytes). Hashing it before the job (`dist run` does this once): %s. For comparison, writing %d new %d MiB files at once from memory, no network, runs at %.0f MB/s on this machine.",
			s.Size>>20, ms(s.Cold), mb(s.ColdBytes), ms(s.Warm), s.WarmBytes, ms(s.Prepare), s.Workers, s.Size>>20, s.DiskRate)
	}
	for _, sk := range r.Skipped {
		p("- Not measured: %s.", sk)
	}
	if len(r.GoBench) > 0 {
		p("")
		p("Go benchmarks (`go test -bench . -benchmem %s`):", strings.Join(goBenchPackages, " "))
		p("")
		p("| benchmark | ns/op | MB/s | B/op | allocs/op |")
		p("|---|---|---|---|---|")
		for _, g := range r.GoBench {
			pkg := g.Package[strings.LastIndex(g.Package, "/")+1:]
			p("| %s.%s | %s | %s | %s | %s |", pkg, strings.TrimPrefix(g.Name, "Benchmark"),
				dash(g.Metrics["ns/op"]), dash(g.Metrics["MB/s"]), dash(g.Metrics["B/op"]), dash(g.Metrics["allocs/op"]))
		}
	}
	if len(r.Scale) > 0 {
		p("")
		p("The tracker at scale, simulated (`go %s`; one job each; 1%% of attempts fail, workers leave and join; see below):", strings.Join(scaleArgs, " "))
		p("")
		p("| workers × 8 slots, maps, reduces | scheduling events/s | s to schedule the job | peak heap MiB | map locations per reduce attempt |")
		p("|---|---|---|---|---|")
		for _, g := range r.Scale {
			p("| %s | %s | %s | %s | %s |", scaleShape(g.Name), dash(g.Metrics["events/s"]), dash(g.Metrics["s/job"]),
				dash(g.Metrics["peak-heap-MiB"]), dash(g.Metrics["locs/reduce"]))
		}
	}
	p("%s", endMarker)
	return b.String()
}

// scaleShape turns "BenchmarkScale/workers=100/maps=10000/reduces=100-2"
// into "100, 10000, 100".
func scaleShape(name string) string {
	var vals []string
	for _, f := range strings.Split(name, "/")[1:] {
		_, v, _ := strings.Cut(f, "=")
		v, _, _ = strings.Cut(v, "-")
		vals = append(vals, v)
	}
	return strings.Join(vals, ", ")
}

// update replaces the generated part of path (or creates the file).
func update(path, table string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + strings.TrimSuffix(table, "\n") + s[j+len(endMarker):]
	case s == "":
		s = "# dist benchmarks\n\n" + table
	default:
		s = strings.TrimRight(s, "\n") + "\n\n" + table
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// s3Label and dataCells show the client data bytes of a local job and,
// when it ran (s3 runs), the same job on S3.
func s3Label(s3 []time.Duration) string {
	if len(s3) == 0 {
		return ""
	}
	return " / S3"
}

func dataCells(local, s3 ClientData, s3Runs []time.Duration) string {
	cell := func(d ClientData) string { return fmt.Sprintf("in %d, out %d", d.In, d.Out) }
	if len(s3Runs) == 0 {
		return cell(local)
	}
	return cell(local) + " / " + cell(s3)
}

func zero(ds ...ClientData) bool {
	for _, d := range ds {
		if d.In != 0 || d.Out != 0 {
			return false
		}
	}
	return true
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func mb(n int64) float64 { return float64(n) / 1e6 }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func list(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.2f", d.Seconds())
	}
	return strings.Join(s, ", ") + " s"
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
