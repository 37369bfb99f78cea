package task_test

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task"
	"github.com/distmr/dist/task/spec"
)

// A reduce checks every input against the size and CRC-32C its map
// reported, and its key order and framing, as it reads it; whatever is
// wrong, the task fails with a *BadInputError naming the map and attempt
// (recorded as Result.BadInput), never with a result that counts.

// records encodes key, value, key, value... as a map output file.
func records(tb testing.TB, kvs ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := recordio.NewWriter(&buf)
	for i := 0; i < len(kvs); i += 2 {
		if err := w.WriteString(kvs[i], kvs[i+1]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// counts is a reduce input of three words with counts.
var counts = []string{"apple", "3", "banana", "12", "cherry", "7"}

// sumApp sums counts, failing on a value that is not a number (as word
// count does).
var sumApp = task.App{Reduce: func(_ *task.Context, key string, values task.Values, emit task.Emit) error {
	total := 0
	for v := range values {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("count %q is not a number", v)
		}
		total += n
	}
	emit(key, strconv.Itoa(total))
	return nil
}}

// damagedReduce makes a reduce over two sound inputs and a third one,
// m-00002 attempt 3, whose file is rewritten by damage after its size and
// checksum were recorded.
func damagedReduce(t *testing.T, damage func([]byte) []byte) string {
	t.Helper()
	dir := reduceTask(t, 1, [][]string{{"apple", "1", "date", "2"}, {"banana", "5"}, counts})
	cfg := readConfig(t, dir)
	cfg.Inputs[2].Attempt = 3
	writeConfig(t, dir, cfg)
	path := filepath.Join(dir, cfg.Inputs[2].File)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, damage(bytes.Clone(data)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readConfig(t *testing.T, dir string) *spec.Config {
	t.Helper()
	cfg, err := spec.ReadConfig(filepath.Join(dir, spec.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeConfig(t *testing.T, dir string, cfg *spec.Config) {
	t.Helper()
	if err := spec.WriteFile(filepath.Join(dir, spec.ConfigFile), cfg); err != nil {
		t.Fatal(err)
	}
}

// mustBlame runs a reduce that must fail naming map m and attempt, for a
// cause matching want, in both the error and result.msgpack.
func mustBlame(t *testing.T, dir, m string, attempt int, want error) {
	t.Helper()
	err := mustFail(t, sumApp, dir)
	var bad *task.BadInputError
	if !errors.As(err, &bad) || bad.Map != m || bad.Attempt != attempt || !errors.Is(err, want) {
		t.Fatalf("got %v, want a *BadInputError naming %s attempt %d for %v", err, m, attempt, want)
	}
	res, rerr := spec.ReadResult(filepath.Join(dir, spec.ResultFile))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if res.BadInput == nil || res.BadInput.Map != m || res.BadInput.Attempt != attempt || res.BadInput.Why == "" {
		t.Fatalf("result.msgpack does not name the map: %+v", res.BadInput)
	}
	if res.Outputs != nil {
		t.Fatalf("a failed reduce reports outputs: %+v", res.Outputs)
	}
}

func TestReduceChecksItsInputs(t *testing.T) {
	sound := records(t, counts...)
	banana := bytes.Index(sound, []byte("banana"))
	cases := []struct {
		name   string
		damage func([]byte) []byte
		want   error
	}{
		{"flipped digit", func(b []byte) []byte {
			i := bytes.LastIndexByte(b, '7')
			b[i] = '8' // cherry 7 becomes 8: still a number, still sorted
			return b
		}, task.ErrChecksum},
		{"flipped key byte", func(b []byte) []byte {
			b[banana] = 'c' // "canana": still sorted, wrong
			return b
		}, task.ErrChecksum},
		{"truncated at a record end", func(b []byte) []byte {
			return b[:len(records(t, counts[:4]...))]
		}, task.ErrChecksum},
		{"truncated inside a record", func(b []byte) []byte { return b[:len(b)-1] }, recordio.ErrTruncated},
		{"extended by a record", func(b []byte) []byte {
			return append(b, records(t, "zebra", "1")...)
		}, task.ErrChecksum},
		{"extended by a byte", func(b []byte) []byte { return append(b, 0) }, recordio.ErrTruncated},
		{"extended by a huge frame", func(b []byte) []byte {
			return append(b, 0xff, 0xff, 0xff, 0xff, 0x7f) // a 34 GB key
		}, recordio.ErrTooLarge},
		{"records swapped", func(b []byte) []byte {
			return records(t, "banana", "12", "apple", "3", "cherry", "7")
		}, task.ErrUnsorted},
		{"garbage value the app chokes on", func(b []byte) []byte {
			i := bytes.Index(b, []byte("12"))
			b[i] = 'x' // banana's count is read, and refused, before the file ends
			return b
		}, task.ErrChecksum},
		{"emptied", func([]byte) []byte { return nil }, task.ErrChecksum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.damage(bytes.Clone(sound)); len(got) == len(sound) && bytes.Equal(got, sound) {
				t.Fatal("the damage changes nothing")
			}
			mustBlame(t, damagedReduce(t, c.damage), "m-00002", 3, c.want)
		})
	}
}

// TestReduceChecksOrderWhateverTheChecksum: a file whose size and CRC-32C
// are what the config says but whose keys are out of order is still
// refused, naming its map: the order check does not rest on the checksum.
func TestReduceChecksOrderWhateverTheChecksum(t *testing.T) {
	swapped := records(t, "banana", "12", "apple", "3", "cherry", "7")
	dir := damagedReduce(t, func([]byte) []byte { return swapped })
	cfg := readConfig(t, dir)
	cfg.Inputs[2].Size = int64(len(swapped))
	cfg.Inputs[2].CRC32C = crc32.Checksum(swapped, crc32.MakeTable(crc32.Castagnoli))
	writeConfig(t, dir, cfg)
	mustBlame(t, dir, "m-00002", 3, task.ErrUnsorted)
}

// TestReduceChecksInputsOfMergePasses damages one of more inputs than a
// merge pass takes, so that it is read by a pass, not the final merge.
func TestReduceChecksInputsOfMergePasses(t *testing.T) {
	var files [][]string
	for m := range 150 {
		files = append(files, []string{fmt.Sprintf("k%03d", m), "1", "zz", "1"})
	}
	dir := reduceTask(t, 1, files)
	cfg := readConfig(t, dir)
	path := filepath.Join(dir, cfg.Inputs[5].File)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] = '2' // zz 1 becomes zz 2
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mustBlame(t, dir, "m-00005", 0, task.ErrChecksum)
}

// TestReduceOfSoundInputs: checking costs a sound reduce nothing.
func TestReduceOfSoundInputs(t *testing.T) {
	dir := reduceTask(t, 1, [][]string{{"apple", "1", "date", "2"}, {}, counts})
	res, err := task.Run(sumApp, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := readOut(t, dir, spec.PartName(0)), "apple\t4\nbanana\t12\ncherry\t7\ndate\t2\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if res.BadInput != nil {
		t.Fatalf("a sound reduce names a bad input: %+v", res.BadInput)
	}
}

// TestReduceInputsNeedAMap: a config whose input names no map task is
// refused, since a damaged input could not be blamed on anything.
func TestReduceInputsNeedAMap(t *testing.T) {
	dir := reduceTask(t, 1, [][]string{counts})
	cfg := readConfig(t, dir)
	cfg.Inputs[0].Map = "r-00000"
	writeConfig(t, dir, cfg)
	if err := mustFail(t, sumApp, dir); !errors.Is(err, spec.ErrBadConfig) {
		t.Fatalf("got %v", err)
	}
}
