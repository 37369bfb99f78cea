package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Sort is dist's sort app (userapp/sort, one reduce) side by side with
// GNU sort on the same lines.
type Sort struct {
	InputBytes int64
	Files      int
	Lines      int64
	// Digest is the SHA-256 of the sorted lines: every output of every
	// run, dist's and GNU sort's, local and on S3, had it.
	Digest string
	// Wall times of each run, in run order: dist with input and output
	// local, the same on S3 (nil without a store), and `sort
	// --parallel=2 -o FILE`.
	Dist, DistS3, GNU []time.Duration
	// Upload is how long putting the input on S3 took.
	Upload time.Duration
	// Data and DataS3 are what the client carried (last runs).
	Data, DataS3 ClientData
	// PeakRSS is the largest sum of RSS over the local dist job's
	// process tree; GNURSS GNU sort's own peak.
	PeakRSS, GNURSS int64
	// GNUVersion is the first line of `sort --version`.
	GNUVersion string
}

// Ratio is median dist time (local) over median GNU sort time.
func (s *Sort) Ratio() float64 { return median(s.Dist).Seconds() / median(s.GNU).Seconds() }

// RatioS3 is median dist time (S3) over median GNU sort time.
func (s *Sort) RatioS3() float64 { return median(s.DistS3).Seconds() / median(s.GNU).Seconds() }

// The sort input: sortFiles files of lines of sortLineLen bytes, "\n"
// included; the rest of each line is random printable ASCII.
const (
	sortLineLen = 100
	sortFiles   = 4
)

// sortReduces is the sort's reduces, one per core: with --total-order
// each writes its key range, and the parts in order are the sorted file.
const sortReduces = 2

// runSort measures the sort; with a store it also runs it with input
// and output on S3, in the same rounds.
func runSort(ctx context.Context, cfg *Config, st *s3Store) (*Sort, error) {
	gnu, err := gnuSort(cfg)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.Work, "lines")
	lines := int64(cfg.SortMB) * 1e6 / sortLineLen
	logf(cfg.Log, "generating %d MB of %d-byte lines in %d files", cfg.SortMB, sortLineLen, sortFiles)
	files, err := genLines(dir, sortFiles, lines)
	if err != nil {
		return nil, err
	}
	s := &Sort{Files: len(files), Lines: lines, InputBytes: lines * sortLineLen}
	if s.GNUVersion, err = firstLine(ctx, gnu, "--version"); err != nil {
		return nil, err
	}

	gnuRun := func(i int) (time.Duration, int64, error) {
		out := filepath.Join(cfg.Work, fmt.Sprintf("sorted-%d.txt", i))
		cmd, _ := command(ctx, cfg, gnu, append([]string{"--parallel=2", "-o", out}, files...)...)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		d, rss, err := timedRSS(cmd)
		if err != nil {
			return d, rss, err
		}
		digest, _, err := hashFile(out)
		if err != nil {
			return d, rss, err
		}
		if s.Digest == "" {
			s.Digest = digest
		}
		if digest != s.Digest {
			return d, rss, fmt.Errorf("GNU sort's output %s differs from its first run's (SHA-256 %s, then %s)", out, digest, s.Digest)
		}
		return d, rss, os.Remove(out)
	}
	dist := func(i int) (distRun, error) {
		out := filepath.Join(cfg.Work, fmt.Sprintf("sort-out-%d", i))
		r, err := runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "sort"),
			"--input", filepath.Join(dir, "*.txt"), "--output", out, "--total-order", "--reduces", strconv.Itoa(sortReduces))
		if err != nil {
			return r, err
		}
		if err := s.checkDir(out); err != nil {
			return r, err
		}
		return r, os.RemoveAll(out)
	}
	distS3 := func(i int) (distRun, error) {
		prefix := fmt.Sprintf("sort-%d", i)
		r, err := runDist(ctx, cfg, st.env, "--local", "2", "--app", filepath.Join(cfg.Bin, "sort"),
			"--input", "s3://"+inBucket+"/sort/*.txt", "--output", "s3://"+outBucket+"/"+prefix,
			"--total-order", "--reduces", strconv.Itoa(sortReduces))
		if err != nil {
			return r, err
		}
		return r, s.checkS3(ctx, st, prefix)
	}

	// Warm the page cache and take the answer from GNU sort first.
	if _, _, err := gnuRun(-1); err != nil {
		return nil, err
	}
	if st != nil {
		logf(cfg.Log, "uploading the sort input to s3://%s/sort/", inBucket)
		if s.Upload, err = st.upload(ctx, inBucket, "sort", files); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Runs {
		logf(cfg.Log, "sort, run %d of %d", i+1, cfg.Runs)
		r, err := dist(i)
		if err != nil {
			return nil, err
		}
		s.Dist = append(s.Dist, r.wall)
		s.PeakRSS = max(s.PeakRSS, r.rss)
		s.Data = r.data
		if st != nil {
			if r, err = distS3(i); err != nil {
				return nil, fmt.Errorf("input and output on S3: %w", err)
			}
			s.DistS3 = append(s.DistS3, r.wall)
			s.DataS3 = r.data
		}
		d, rss, err := gnuRun(i)
		if err != nil {
			return nil, err
		}
		s.GNU = append(s.GNU, d)
		s.GNURSS = max(s.GNURSS, rss)
	}
	logf(cfg.Log, "sort: dist %v, GNU sort %v (ratio %.2f)",
		median(s.Dist).Round(time.Millisecond), median(s.GNU).Round(time.Millisecond), s.Ratio())
	if st != nil {
		logf(cfg.Log, "sort on S3: %v (%.2f × GNU sort)", median(s.DistS3).Round(time.Millisecond), s.RatioS3())
	}
	return s, nil
}

// checkDir checks that a directory output is sortReduces parts that,
// one after the other, hold exactly GNU sort's answer.
func (s *Sort) checkDir(out string) error {
	if _, err := os.Stat(filepath.Join(out, "_SUCCESS")); err != nil {
		return fmt.Errorf("%s: no _SUCCESS: %w", out, err)
	}
	parts, err := filepath.Glob(filepath.Join(out, "part-*"))
	if err != nil || len(parts) != sortReduces {
		return fmt.Errorf("%s: %d part files, want %d (--reduces %d)", out, len(parts), sortReduces, sortReduces)
	}
	digest, err := hashFiles(parts...) // Glob sorts them
	if err != nil {
		return err
	}
	if digest != s.Digest {
		return fmt.Errorf("wrong answer: cat %s/part-* (SHA-256 %s) is not GNU sort's output (%d bytes, %s)", out, digest, s.InputBytes, s.Digest)
	}
	return nil
}

// checkS3 checks that an S3 output is sortReduces parts that, one after
// the other, hold exactly GNU sort's answer.
func (s *Sort) checkS3(ctx context.Context, st *s3Store, prefix string) error {
	m, err := st.manifest(ctx, outBucket, prefix)
	if err != nil {
		return err
	}
	if len(m.Parts) != sortReduces {
		return fmt.Errorf("s3://%s/%s: %d parts, want %d (--reduces %d)", outBucket, prefix, len(m.Parts), sortReduces, sortReduces)
	}
	var keys []string
	var size int64
	for _, p := range m.Parts {
		keys = append(keys, prefix+"/"+p.Name)
		size += p.Size
	}
	digest, n, err := st.hashObjects(ctx, outBucket, keys...)
	if err != nil {
		return err
	}
	if digest != s.Digest || n != size {
		return fmt.Errorf("wrong answer: the parts under s3://%s/%s (%d bytes, SHA-256 %s; the manifest says %d bytes) are not GNU sort's output (%d bytes, %s)",
			outBucket, prefix, n, digest, size, s.InputBytes, s.Digest)
	}
	return nil
}

// gnuSort finds sort on PATH, which must not be dist's example app.
func gnuSort(cfg *Config) (string, error) {
	p, err := exec.LookPath("sort")
	if err != nil {
		return "", fmt.Errorf("no sort on PATH to compare with: install GNU coreutils (%v)", err)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if filepath.Dir(abs) == cfg.Bin {
		return "", fmt.Errorf("sort on PATH is %s, dist's example app: take %s off PATH", abs, cfg.Bin)
	}
	return abs, nil
}

// genLines writes lines lines, about equally many in each of n files,
// each sortLineLen-1 random printable ASCII bytes and "\n". The source is
// seeded: every run sorts the same lines.
func genLines(dir string, n int, lines int64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("lines-%d.txt", i))
		count := lines*int64(i+1)/int64(n) - lines*int64(i)/int64(n)
		if err := writeLines(path, uint64(i), count); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

func writeLines(path string, seed uint64, count int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ee4_50f7))
	w := bufio.NewWriterSize(f, 1<<20)
	var line [sortLineLen]byte
	line[sortLineLen-1] = '\n'
	for range count {
		for i := range sortLineLen - 1 {
			line[i] = ' ' + byte(rng.UintN(95)) // ' ' to '~'
		}
		w.Write(line[:]) // bufio keeps the first error for Flush
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hashFile returns the SHA-256 and size of a file.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// firstLine runs a program and returns the first line it prints.
func firstLine(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return string(line), nil
}
