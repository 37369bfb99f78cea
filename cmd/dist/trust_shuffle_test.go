package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task/spec"
)

// Every byte a reduce consumes is checked against its map's checksum, on
// the map's own worker as across the network (DESIGN.md, "Failure
// semantics"). These jobs damage finished map outputs in place while a
// held map keeps the reduce from starting, then let the job go on: the
// damaged maps must run again, the reduce must not be charged, and the
// output must be the exact word count.

// heldJob runs crashy's word count over books on the workers with one
// reduce that starts only after every map (unless extra says otherwise),
// while map m-00001's first attempt waits for the file it returns (held)
// to exist.
func heldJob(t *testing.T, workers []*testenv.Worker, books []string, out string, extra ...string) (*background, string) {
	t.Helper()
	held := filepath.Join(t.TempDir(), "release")
	var addrs []string
	for _, w := range workers {
		addrs = append(addrs, w.Addr)
	}
	args := []string{"run", "--workers", strings.Join(addrs, ","), "--app", env.App(t, "crashy"),
		"--output", out, "--reduces", "1", "--early-reduces=false", "--speculative=false",
		"--param", "hold=" + held, "--param", "only=^m-00001/0$"}
	for _, b := range books {
		args = append(args, "--input", b)
	}
	return startDist(t, append(args, extra...)...), held
}

// mapOutputs lists the finished map attempts' outputs on w, by attempt
// directory ("m-00000-0").
func mapOutputs(w *testenv.Worker) map[string]string {
	out := map[string]string{}
	for _, d := range attemptDirs(w, spec.ResultFile) {
		if strings.HasPrefix(d, "m-") {
			m, _ := filepath.Glob(filepath.Join(w.Dir, "tasks", "*", d, spec.OutDir, spec.MapPartName(0)))
			if len(m) == 1 {
				out[d] = m[0]
			}
		}
	}
	return out
}

// waitMapsDone waits until every map but the held m-00001 has finished
// somewhere, and the held one is running.
func waitMapsDone(t *testing.T, workers []*testenv.Worker, maps int) {
	t.Helper()
	waitFor(t, 2*time.Minute, "every map but the held one to finish", func() bool {
		done, held := 0, false
		for _, w := range workers {
			for d := range mapOutputs(w) {
				if !strings.HasPrefix(d, "m-00001-") {
					done++
				}
			}
			held = held || hasPrefix(attemptDirs(w, spec.ConfigFile), "m-00001-0")
		}
		return done == maps-1 && held
	})
}

func release(t *testing.T, held string) {
	t.Helper()
	if err := os.WriteFile(held, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rec is one record of a map output file: bytes start to end, the key
// from keyAt.
type rec struct {
	start, keyAt, end int
	key, value        string
}

func readRecords(t *testing.T, data []byte) []rec {
	t.Helper()
	rd := recordio.NewReader(bytes.NewReader(data))
	var recs []rec
	for {
		start := int(rd.Offset())
		k, v, err := rd.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		end := int(rd.Offset())
		keyAt := start + binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(len(k)))
		recs = append(recs, rec{start, keyAt, end, string(k), string(v)})
	}
}

// rewrite changes a file's bytes in place (same inode, same size).
func rewrite(t *testing.T, path string, change func([]byte)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before := len(data)
	change(data)
	if len(data) != before {
		t.Fatal("rewrite changed the size")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// changeACount changes one digit of the first count in a map output: the
// file keeps its size and key order, only its checksum tells.
func changeACount(t *testing.T, path string) {
	t.Helper()
	rewrite(t, path, func(data []byte) {
		for _, r := range readRecords(t, data) {
			if r.value != "" && strings.Trim(r.value, "0123456789") == "" {
				i := r.end - 1
				data[i] = '0' + (data[i]-'0'+1)%10
				t.Logf("%s: count of %q changed from %s to %s", path, r.key, r.value, data[r.end-len(r.value):r.end])
				return
			}
		}
		t.Fatalf("%s holds no count", path)
	})
}

// swapRecords swaps the first two records of a map output (valid frames,
// same size, keys out of order); forge also restores its CRC-32C by
// changing 4 bytes of a later key, so that only the order tells.
func swapRecords(t *testing.T, path string, forge bool) {
	t.Helper()
	rewrite(t, path, func(data []byte) {
		want := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
		recs := readRecords(t, data)
		a, b := recs[0], recs[1]
		swapped := append(append(bytes.Clone(data[b.start:b.end]), data[a.start:a.end]...), data[b.end:]...)
		copy(data, swapped)
		if !forge {
			return
		}
		var long rec // the longest key in the second half: far from the swap
		for _, r := range recs[len(recs)/2:] {
			if len(r.key) > len(long.key) {
				long = r
			}
		}
		if len(long.key) < 4 {
			t.Fatalf("%s has no key of 4 bytes to forge the checksum with", path)
		}
		forgeCRC(t, data, long.keyAt+len(long.key)-4, want)
	})
}

// forgeCRC changes data[at:at+4] so that data's CRC-32C becomes want.
// The CRC of a fixed-length message is affine in its bits: find the bits
// to flip by Gaussian elimination over GF(2).
func forgeCRC(t *testing.T, data []byte, at int, want uint32) {
	t.Helper()
	table := crc32.MakeTable(crc32.Castagnoli)
	base := crc32.Checksum(data, table)
	type row struct{ effect, flips uint32 }
	var pivots [32]*row // by highest set bit of effect
	for bit := range 32 {
		data[at+bit/8] ^= 1 << (bit % 8)
		r := row{crc32.Checksum(data, table) ^ base, 1 << bit}
		data[at+bit/8] ^= 1 << (bit % 8)
		for hi := 31; hi >= 0 && r.effect != 0; hi-- {
			if r.effect&(1<<hi) == 0 {
				continue
			}
			if pivots[hi] == nil {
				pivots[hi] = &r
				break
			}
			r.effect ^= pivots[hi].effect
			r.flips ^= pivots[hi].flips
		}
	}
	need, flips := want^base, uint32(0)
	for hi := 31; hi >= 0; hi-- {
		if need&(1<<hi) != 0 {
			if pivots[hi] == nil {
				t.Fatal("cannot forge the checksum at this position")
			}
			need ^= pivots[hi].effect
			flips ^= pivots[hi].flips
		}
	}
	for bit := range 32 {
		if flips&(1<<bit) != 0 {
			data[at+bit/8] ^= 1 << (bit % 8)
		}
	}
	if crc32.Checksum(data, table) != want {
		t.Fatal("forged checksum does not match")
	}
}

// checkRerunNotCharged checks that the job succeeded with the exact word
// count, that the damaged maps ran again, and that no reduce attempt
// was charged as a failure.
func checkRerunNotCharged(t *testing.T, r result, out string, books []string, damaged ...string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("job failed (exit %d):\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	checkWordCounts(t, out, books)
	if n := summaryNumber(t, r.stdout, "map re-runs"); n < len(damaged) {
		t.Fatalf("%d map re-runs, want at least %d:\n%s\n%s", n, len(damaged), r.stdout, r.stderr)
	}
	for _, m := range damaged {
		if !regexp.MustCompile(`found map output damaged.* map=` + m).MatchString(r.stderr) {
			t.Errorf("the log does not say that %s's output was damaged and is made again:\n%s", m, r.stderr)
		}
	}
	if regexp.MustCompile(`attempt failed.* task=r-`).MatchString(r.stderr) {
		t.Errorf("a reduce attempt was charged as failed:\n%s", r.stderr)
	}
	t.Logf("job:\n%s%s", r.stdout, r.stderr)
}

func smallBooks(t *testing.T, n int) []string {
	t.Helper()
	books := env.Corpus(t)
	if len(books) < n {
		t.Fatalf("want %d books, have %d", n, len(books))
	}
	return books[:n]
}

// TestDamagedLocalMapOutputIsMadeAgain: with one worker every map output
// is local to the reduce, which links it unread; one count changed on
// disk after the map finished must not reach the output. With early
// reduces the reduce may have linked the output already, so the change
// reaches its staged copy too.
func TestDamagedLocalMapOutputIsMadeAgain(t *testing.T) {
	t.Parallel()
	for _, early := range []bool{false, true} {
		t.Run(fmt.Sprintf("early-reduces=%v", early), func(t *testing.T) {
			books := smallBooks(t, 3)
			w := testenv.StartWorker(t, env.Dist(t), "--slots", "2")
			out := filepath.Join(t.TempDir(), "out")
			job, held := heldJob(t, []*testenv.Worker{w}, books, out, fmt.Sprintf("--early-reduces=%v", early))
			waitMapsDone(t, []*testenv.Worker{w}, len(books))
			changeACount(t, mapOutputs(w)["m-00000-0"])
			release(t, held)
			checkRerunNotCharged(t, job.wait(t), out, books, "m-00000")
		})
	}
}

// TestDamagedMapOutputOnTheReducesWorker: with three workers, every map
// output on the worker the reduce will run on (the one with the most
// slots) is damaged; the remote ones were always checked, these must be
// too.
func TestDamagedMapOutputOnTheReducesWorker(t *testing.T) {
	t.Parallel()
	books := smallBooks(t, 6)
	big := testenv.StartWorker(t, env.Dist(t), "--slots", "4")
	workers := []*testenv.Worker{big, testenv.StartWorker(t, env.Dist(t), "--slots", "2"),
		testenv.StartWorker(t, env.Dist(t), "--slots", "2")}
	out := filepath.Join(t.TempDir(), "out")
	job, held := heldJob(t, workers, books, out)
	waitMapsDone(t, workers, len(books))
	var damaged []string
	for d, path := range mapOutputs(big) {
		changeACount(t, path)
		damaged = append(damaged, d[:len("m-00000")])
	}
	if len(damaged) == 0 {
		t.Fatal("no finished map on the reduce's worker to damage")
	}
	release(t, held)
	r := job.wait(t)
	checkRerunNotCharged(t, r, out, books, damaged...)
	if !strings.Contains(r.stderr, "r-00000 done on "+big.ID) {
		t.Fatalf("the reduce did not run on the worker with the most slots, where the damaged outputs are:\n%s", r.stderr)
	}
}

// TestUnsortedMapOutputIsMadeAgain: a map output whose records are out
// of key order names its map, which runs again, instead of failing the
// reduce four times on the same file. With forge the file's checksum is
// right, so only the order check can tell.
func TestUnsortedMapOutputIsMadeAgain(t *testing.T) {
	t.Parallel()
	for _, forge := range []bool{false, true} {
		name := "checksum wrong too"
		if forge {
			name = "checksum right"
		}
		t.Run(name, func(t *testing.T) {
			books := smallBooks(t, 3)
			w := testenv.StartWorker(t, env.Dist(t), "--slots", "2")
			out := filepath.Join(t.TempDir(), "out")
			job, held := heldJob(t, []*testenv.Worker{w}, books, out)
			waitMapsDone(t, []*testenv.Worker{w}, len(books))
			swapRecords(t, mapOutputs(w)["m-00000-0"], forge)
			release(t, held)
			r := job.wait(t)
			checkRerunNotCharged(t, r, out, books, "m-00000")
			if !strings.Contains(r.stderr, "map output not sorted") {
				t.Errorf("the order check did not name the map:\n%s", r.stderr)
			}
		})
	}
}
