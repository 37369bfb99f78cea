package bench

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TeraSort is teragen, terasort with --total-order and teravalidate on
// `dist run --local 2`, side by side with GNU sort on the same bytes.
type TeraSort struct {
	Rows, Bytes int64
	Reduces     int
	// Checksum is the sum of the records' CRC-32s, worked out here from
	// teragen's output; teravalidate said ok to it.
	Checksum uint64
	// Digest is the SHA-256 of cat part-*, which GNU sort's output had too.
	Digest string
	// Wall times of one run each.
	Gen, Sort, Validate, GNU time.Duration
	// PeakRSS is the largest sum of RSS over terasort's process tree;
	// GNURSS GNU sort's own peak.
	PeakRSS, GNURSS int64
}

// MBps is the terasort job's rate over its input.
func (s *TeraSort) MBps() float64 { return mb(s.Bytes) / s.Sort.Seconds() }

// Ratio is the terasort job's time over GNU sort's.
func (s *TeraSort) Ratio() float64 { return s.Sort.Seconds() / s.GNU.Seconds() }

// teraRecord is the length of a teragen record, newline included.
const teraRecord = 100

// runTera generates cfg.TeraMB of records, sorts them with dist and with
// GNU sort once each (a 1 GB sort is long enough that one run of each
// says enough), and fails unless both wrote the same bytes and
// teravalidate says ok to the count and checksum worked out here.
func runTera(ctx context.Context, cfg *Config) (*TeraSort, error) {
	gnu, err := gnuSort(cfg)
	if err != nil {
		return nil, err
	}
	s := &TeraSort{Rows: int64(cfg.TeraMB) * 1e6 / teraRecord, Reduces: 4}
	s.Bytes = s.Rows * teraRecord
	gen := filepath.Join(cfg.Work, "tera-in")
	logf(cfg.Log, "teragen: %d records of %d bytes", s.Rows, teraRecord)
	r, err := runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "teragen"), "--tasks", "4",
		"--param", "rows="+strconv.FormatInt(s.Rows, 10), "--reduces", "0", "--output", gen)
	if err != nil {
		return nil, fmt.Errorf("teragen: %w", err)
	}
	s.Gen = r.wall
	parts, err := filepath.Glob(filepath.Join(gen, "part-*"))
	if err != nil {
		return nil, err
	}
	rows, sum, err := teraChecksum(parts)
	if err != nil {
		return nil, err
	}
	if s.Checksum = sum; rows != s.Rows {
		return nil, fmt.Errorf("teragen wrote %d records to %s, want %d", rows, gen, s.Rows)
	}

	// GNU sort first, which also warms the page cache.
	logf(cfg.Log, "terasort: GNU sort")
	out := filepath.Join(cfg.Work, "tera-gnu.txt")
	cmd, _ := command(ctx, cfg, gnu, append([]string{"--parallel=2", "-o", out}, parts...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.GNU, s.GNURSS, err = timedRSS(cmd); err != nil {
		return nil, err
	}
	if s.Digest, err = hashFiles(out); err != nil {
		return nil, err
	}
	if err := os.Remove(out); err != nil {
		return nil, err
	}

	logf(cfg.Log, "terasort: dist, --total-order over %d reduces", s.Reduces)
	sorted := filepath.Join(cfg.Work, "tera-out")
	if r, err = runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "terasort"), "--input", filepath.Join(gen, "part-*"),
		"--total-order", "--reduces", strconv.Itoa(s.Reduces), "--output", sorted); err != nil {
		return nil, fmt.Errorf("terasort: %w", err)
	}
	s.Sort, s.PeakRSS = r.wall, r.rss
	if parts, err = filepath.Glob(filepath.Join(sorted, "part-*")); err != nil {
		return nil, err
	}
	digest, err := hashFiles(parts...)
	if err != nil {
		return nil, err
	}
	if digest != s.Digest {
		return nil, fmt.Errorf("wrong answer: cat %s/part-* (SHA-256 %s) is not GNU sort's output (%s)", sorted, digest, s.Digest)
	}

	check := filepath.Join(cfg.Work, "tera-check")
	if r, err = runDist(ctx, cfg, nil, "--local", "2", "--app", filepath.Join(cfg.Bin, "teravalidate"), "--input", filepath.Join(sorted, "part-*"),
		"--reduces", "1", "--param", "rows="+strconv.FormatInt(s.Rows, 10), "--param", "checksum="+strconv.FormatUint(sum, 10),
		"--output", check); err != nil {
		return nil, fmt.Errorf("teravalidate: %w", err)
	}
	s.Validate = r.wall
	verdict, err := os.ReadFile(filepath.Join(check, "part-00000"))
	if err != nil {
		return nil, err
	}
	if want := fmt.Sprintf("ok\t%d\t%d\n", s.Rows, sum); string(verdict) != want {
		return nil, fmt.Errorf("teravalidate says %q, want %q", verdict, want)
	}
	logf(cfg.Log, "terasort: %d MB in %v, %.0f MB/s; GNU sort %v (ratio %.2f)",
		s.Bytes/1e6, s.Sort.Round(time.Millisecond), s.MBps(), s.GNU.Round(time.Millisecond), s.Ratio())
	for _, dir := range []string{gen, sorted, check} {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// teraChecksum counts the records of files and sums their CRC-32s
// (IEEE, newline included) modulo 2^64, as teragen's counters do.
func teraChecksum(files []string) (rows int64, sum uint64, err error) {
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return 0, 0, err
		}
		r := bufio.NewReaderSize(f, 1<<20)
		var rec [teraRecord]byte
		for {
			_, err = io.ReadFull(r, rec[:])
			if err != nil {
				break
			}
			if rec[teraRecord-1] != '\n' {
				err = fmt.Errorf("%s: record %d does not end in a newline after %d bytes", path, rows, teraRecord)
				break
			}
			rows++
			sum += uint64(crc32.ChecksumIEEE(rec[:]))
		}
		f.Close()
		if err != io.EOF {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
	}
	return rows, sum, nil
}

// hashFiles returns the SHA-256 of the files one after the other.
func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.CopyBuffer(h, f, buf)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
