package main

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TeraSort end to end: teragen's records sorted by terasort with
// --total-order over 3 reduces are the records in byte order, and
// teravalidate says ok with the count and checksum worked out here; an
// output with two lines swapped in a part, or a line dropped, it reports.
func TestTeraSort(t *testing.T) {
	t.Parallel()
	const rows = 20000
	gen := filepath.Join(t.TempDir(), "gen")
	mustRun(t, "run", "--local", "2", "--app", env.App(t, "teragen"), "--tasks", "2", "--param", "rows="+strconv.Itoa(rows),
		"--reduces", "0", "--output", gen)
	records := strings.SplitAfter(string(readParts(t, gen)), "\n")
	records = records[:len(records)-1] // after the last newline
	var sum uint64
	for _, r := range records {
		sum += uint64(crc32.ChecksumIEEE([]byte(r)))
	}
	slices.Sort(records)

	out := filepath.Join(t.TempDir(), "sorted")
	mustRun(t, "run", "--local", "2", "--app", env.App(t, "terasort"), "--input", filepath.Join(gen, "part-*"),
		"--total-order", "--reduces", "3", "--split-size", "400000", "--output", out)
	assertCommitted(t, out, 3)
	if !bytes.Equal(readParts(t, out), []byte(strings.Join(records, ""))) {
		t.Fatal("cat part-* is not teragen's records in byte order")
	}
	params := []string{"--param", fmt.Sprintf("rows=%d", rows), "--param", fmt.Sprintf("checksum=%d", sum)}
	if got, want := teravalidate(t, out, params), fmt.Sprintf("ok\t%d\t%d\n", rows, sum); got != want {
		t.Fatalf("teravalidate: %q, want %q", got, want)
	}

	part1 := readLines(t, filepath.Join(out, "part-00001"))
	part2 := readLines(t, filepath.Join(out, "part-00002"))
	if len(part1) < 100 || len(part2) < 100 {
		t.Fatalf("parts 1 and 2 hold %d and %d records: the cut points did not spread them", len(part1), len(part2))
	}
	swapped := slices.Clone(part1)
	swapped[10], swapped[11] = swapped[11], swapped[10]
	broken := copyOutput(t, out, map[string][]string{"part-00001": swapped})
	if got, want := teravalidate(t, broken, params), fmt.Sprintf("part-00001 byte %d: out of order", 11*100); !strings.HasPrefix(got, "error\t") || !strings.Contains(got, want) {
		t.Errorf("two lines swapped: %q, want an error saying %q", got, want)
	}
	broken = copyOutput(t, out, map[string][]string{"part-00002": slices.Delete(slices.Clone(part2), 5, 6)})
	if got, want := teravalidate(t, broken, params), fmt.Sprintf("error\t%d records, teragen wrote %d", rows-1, rows); !strings.HasPrefix(got, want) {
		t.Errorf("a line dropped: %q, want %q", got, want)
	}
}

// teravalidate runs over a terasort output and returns its one part.
func teravalidate(t *testing.T, dir string, params []string) string {
	t.Helper()
	check := filepath.Join(t.TempDir(), "check")
	mustRun(t, append([]string{"run", "--local", "2", "--app", env.App(t, "teravalidate"), "--input", filepath.Join(dir, "part-*"),
		"--reduces", "1", "--split-size", "300000", "--output", check}, params...)...)
	return string(readParts(t, check))
}

// readLines returns a file's lines without their newlines.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// copyOutput copies dir's parts to a new directory, with the lines of
// the parts named in replace instead of theirs.
func copyOutput(t *testing.T, dir string, replace map[string][]string) string {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil {
		t.Fatal(err)
	}
	to := t.TempDir()
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if lines, ok := replace[filepath.Base(p)]; ok {
			b = []byte(strings.Join(lines, "\n") + "\n")
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}
