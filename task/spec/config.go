package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/distmr/dist/internal/msgpackx"
)

// Phase says which half of the job a task belongs to.
type Phase string

const (
	PhaseMap    Phase = "map"
	PhaseReduce Phase = "reduce"
	// PhaseSample runs Map over records spread through a split and reports
	// the keys it emits (Result.Sample) instead of writing partitions:
	// dist run --total-order picks its cut points from them. A program
	// built before total order refuses the phase as unknown, so a job
	// whose maps it could not partition by cut points fails at its first
	// sample instead of writing unsorted parts.
	PhaseSample Phase = "sample"
)

// File names inside a task directory (DIST_TASK_DIR).
const (
	ConfigFile = "task.msgpack"
	ResultFile = "result.msgpack"
	InDir      = "in"
	OutDir     = "out"
	SplitFile  = "in/split"
	// FilesDir holds the job's side files (dist run --file), each under
	// its base name, read-only; the worker places them before the start.
	FilesDir = "files"
	// StartedFile is the empty file task.Main creates before anything
	// else, so that a worker can tell a program that never called Main (a
	// plain hello-world shipped by mistake: no retry will help) from one
	// that crashed while running its task.
	StartedFile = "started"
	// EnvTaskDir names the environment variable that points a task program
	// at its task directory.
	EnvTaskDir = "DIST_TASK_DIR"
)

// MaxConfigSize bounds task.msgpack; a bigger one is refused unread. A
// reduce's config lists every map's output (Inputs), under 100 bytes
// each: this holds the 2^20 maps a worker accepts for one reduce. (It
// was 1 MiB, which refused the reduces of jobs of about 15,000 maps.)
const MaxConfigSize = 128 << 20

// Config is what the client sends for one task attempt; the worker writes
// it to <task dir>/task.msgpack before starting the program.
type Config struct {
	Job     string `msgpack:"job"`     // job id, a safe name
	Task    string `msgpack:"task"`    // task id: "m-00003" or "r-00000"
	Attempt int    `msgpack:"attempt"` // 0 for the first attempt
	Phase   Phase  `msgpack:"phase"`
	// Index is the map number for a map task and the partition number for a
	// reduce task.
	Index int `msgpack:"index"`
	// Reduces is the number of reduce partitions R; 0 makes a map-only job
	// whose map output is the job output.
	Reduces      int               `msgpack:"reduces"`
	InputFormat  string            `msgpack:"input_format"`  // "" means "text"
	OutputFormat string            `msgpack:"output_format"` // "" means "text"
	Params       map[string]string `msgpack:"params"`
	// Split is a map task's input (zero for reduces).
	Split Split `msgpack:"split"`
	// Inputs lists a reduce task's staged map outputs. Its msgpack key is
	// "partitions", which once held bare paths: a program built with an
	// older task package then refuses the config rather than reading no
	// input, and a newer one refuses a config without checksums.
	Inputs []Input `msgpack:"partitions"`
	// SortBuffer bounds, in bytes, the memory a map task uses to sort its
	// output before spilling a sorted run to disk; 0 means
	// DefaultSortBuffer.
	SortBuffer int64 `msgpack:"sort_buffer"`
	// Order, when set, makes the job's output sorted across parts
	// (dist run --total-order): a map puts key k in the partition i with
	// Cuts[i-1] <= k < Cuts[i], and a sample task refuses an app with its
	// own Partition. Nil means App.Partition or the hash. A program that
	// predates it never sees it set: the sample phase it must run first
	// is refused as unknown.
	Order *Order `msgpack:"order,omitempty"`
}

// Order is the cut points of a totally ordered job.
type Order struct {
	// Cuts are Reduces-1 keys in byte order; equal neighbours leave the
	// partition between them empty (one hot key fills one partition).
	Cuts []string `msgpack:"cuts"`
}

// MaxCutBytes bounds the cut points a config carries (their key bytes);
// a job whose cut points would be larger is refused before its maps.
const MaxCutBytes = 256 << 10

// Bounds of what a sample task reports: at most SampleRecords records are
// kept (spread through the split), and at most SampleKeys keys of
// SampleBytes bytes in all, each cut to SampleKeyBytes.
const (
	SampleRecords  = 2000
	SampleKeys     = 4000
	SampleBytes    = 256 << 10
	SampleKeyBytes = 1 << 10
)

// DefaultSortBuffer is the map-side sort buffer when Config.SortBuffer is 0.
const DefaultSortBuffer = 64 << 20

// Split is one contiguous piece of an input file.
type Split struct {
	// File is where the worker staged the bytes, relative to the task
	// directory (normally SplitFile).
	File string `msgpack:"file"`
	// Name is the input path exactly as `dist run` named it after glob
	// expansion; task.Context.InputFile returns it.
	Name string `msgpack:"name"`
	// Offset is the position of the split's first byte in the original
	// file; text input keys are Offset plus the line's position in File.
	Offset int64 `msgpack:"offset"`
	// Length is the number of bytes in the split.
	Length int64 `msgpack:"length"`
	// FD, when not 0, says the worker opened the original file for the
	// task (read in place, not staged) and passed it as this file
	// descriptor: the split is bytes [Offset, Offset+Length) of it. File
	// is then empty, so a program built before in-place reads refuses the
	// config instead of reading the whole file.
	FD int `msgpack:"fd,omitempty"`
	// Tasks, when not 0, says the map reads nothing: the job runs Tasks
	// maps with no input (dist run --tasks N) and this is map Index of
	// them; Map is called once, with Index as key and an empty value.
	// File and FD are then zero, so a program built before maps without
	// input refuses the config instead of running Map over nothing.
	Tasks int `msgpack:"tasks,omitempty"`
	// Pieces, when set, makes the split several whole files packed into
	// one map (many small inputs): the worker staged them one after
	// another in Pack, and the task reads each as a split of its own,
	// with its Name and keys counted from the file's start. File, FD and
	// Offset are then zero, so a program built before packing refuses
	// the config instead of reading the files as one. The client sends
	// Length -1: a worker built before packing drops Pack and Pieces and
	// stages the bytes as one split, which no program reads as -1 bytes;
	// a worker that packs sets Length to the pieces' total.
	Pack   string  `msgpack:"pack,omitempty"`
	Pieces []Piece `msgpack:"pieces,omitempty"`
}

// Piece is one whole file of a packed split (Split.Pieces).
type Piece struct {
	// Name is the input path as `dist run` named it; task.Context.InputFile
	// returns it while the task reads the piece.
	Name string `msgpack:"name"`
	// Length is the file's size: the piece's bytes follow the previous
	// piece's in Split.Pack.
	Length int64 `msgpack:"length"`
}

// MaxPieces bounds the files packed into one split, so that a launch
// request and its task config stay well within their 1 MiB bounds.
const MaxPieces = 1000

// MaxPieceNames bounds the bytes of the names of one split's pieces.
const MaxPieceNames = 128 << 10

// Input is one map output a reduce task reads: the file the worker staged
// and what its map reported of it. The reduce checks every byte it reads
// against Size and CRC32C (and the key order and framing of the records),
// so a file damaged on disk or on the way is blamed on its map, which
// runs again, and never reduced.
type Input struct {
	// File is a path relative to the task directory, or an absolute path
	// the worker chose.
	File    string `msgpack:"file"`
	Map     string `msgpack:"map"`     // the map task that wrote it: "m-00003"
	Attempt int    `msgpack:"attempt"` // the attempt of Map that wrote it
	Size    int64  `msgpack:"size"`    // as the map reported it
	CRC32C  uint32 `msgpack:"crc32c"`  // Castagnoli CRC of the whole file, as the map reported it
}

// ReadsSplit reports whether tasks of phase p read an input split: maps
// and the sample tasks of a totally ordered job.
func (p Phase) ReadsSplit() bool { return p == PhaseMap || p == PhaseSample }

// TaskID names task i of a phase: "m-00003", "r-00000".
func TaskID(p Phase, i int) string {
	switch p {
	case PhaseMap:
		return fmt.Sprintf("m-%05d", i)
	case PhaseSample:
		return fmt.Sprintf("s-%05d", i)
	}
	return fmt.Sprintf("r-%05d", i)
}

// ParseTaskID is the inverse of TaskID: "m-00003" is map 3. ok is false
// for anything TaskID does not make.
func ParseTaskID(id string) (p Phase, i int, ok bool) {
	switch {
	case strings.HasPrefix(id, "m-"):
		p = PhaseMap
	case strings.HasPrefix(id, "r-"):
		p = PhaseReduce
	case strings.HasPrefix(id, "s-"):
		p = PhaseSample
	default:
		return "", 0, false
	}
	i, err := strconv.Atoi(id[2:])
	if err != nil || i < 0 || TaskID(p, i) != id {
		return "", 0, false
	}
	return p, i, true
}

// PartName is the job output file name of partition i: "part-00000".
func PartName(i int) string { return fmt.Sprintf("part-%05d", i) }

// MapPartName is the name of a map task's sorted output for partition i.
func MapPartName(i int) string { return fmt.Sprintf("map-%05d", i) }

// ValidName reports whether s may be used as a job, task or file name:
// non-empty, at most 128 bytes of [A-Za-z0-9._-], never "." or "..".
// (A loop, not the regexp ^[A-Za-z0-9._-]{1,128}$: compiling that one
// took 0.45 ms of every task's and every dist command's start.)
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 128 || s == "." || s == ".." {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Validate checks the fields every task needs.
func (c *Config) Validate() error {
	if !ValidName(c.Job) {
		return fmt.Errorf("%w: job id %q is not a safe name", ErrBadConfig, c.Job)
	}
	if !ValidName(c.Task) {
		return fmt.Errorf("%w: task id %q is not a safe name", ErrBadConfig, c.Task)
	}
	if c.Attempt < 0 || c.Index < 0 || c.Reduces < 0 || c.SortBuffer < 0 {
		return fmt.Errorf("%w: negative attempt, index, reduces or sort buffer", ErrBadConfig)
	}
	if err := c.Order.validate(c.Reduces); err != nil {
		return err
	}
	switch c.Phase {
	case PhaseMap, PhaseSample:
		if c.Phase == PhaseMap && c.Split.Tasks != 0 {
			return c.Split.validateNoInput(c.Index)
		}
		switch {
		case len(c.Split.Pieces) > 0 || c.Split.Pack != "":
			if err := c.Split.validatePacked(); err != nil {
				return err
			}
		case c.Split.File == "" && c.Split.FD <= 2:
			return fmt.Errorf("%w: %s task without an input split", ErrBadConfig, c.Phase)
		case c.Split.Offset < 0 || c.Split.Length < 0:
			// A packed split that a worker built before packing staged
			// as one (Split.Pieces).
			return fmt.Errorf("%w: split of %s at %d has a negative length: its worker is older than the client, upgrade it", ErrBadConfig, c.Split.Name, c.Split.Offset)
		}
		if c.Phase == PhaseSample && c.Order == nil {
			return fmt.Errorf("%w: sample task of a job without total order", ErrBadConfig)
		}
	case PhaseReduce:
		if c.Index >= c.Reduces {
			return fmt.Errorf("%w: reduce partition %d of %d", ErrBadConfig, c.Index, c.Reduces)
		}
		for _, in := range c.Inputs {
			if err := in.validate(); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: unknown phase %q", ErrBadConfig, c.Phase)
	}
	return nil
}

// validateNoInput checks the split of map index of a job with no input.
func (s Split) validateNoInput(index int) error {
	switch {
	case s.File != "" || s.FD != 0:
		return fmt.Errorf("%w: map task with no input names an input split", ErrBadConfig)
	case index >= s.Tasks:
		return fmt.Errorf("%w: map %d of %d maps with no input", ErrBadConfig, index, s.Tasks)
	}
	return nil
}

// validatePacked checks a packed split: its pieces are the whole split.
func (s Split) validatePacked() error {
	switch {
	case s.Pack == "" || len(s.Pieces) == 0:
		return fmt.Errorf("%w: packed split without its file or its pieces", ErrBadConfig)
	case s.File != "" || s.FD != 0 || s.Tasks != 0 || s.Offset != 0:
		return fmt.Errorf("%w: packed split also names a file, descriptor, offset or tasks", ErrBadConfig)
	case len(s.Pieces) > MaxPieces:
		return fmt.Errorf("%w: packed split of %d pieces, limit %d", ErrBadConfig, len(s.Pieces), MaxPieces)
	}
	var total, names int64
	for _, p := range s.Pieces {
		if p.Length < 0 {
			return fmt.Errorf("%w: piece %s of a packed split has a negative length", ErrBadConfig, p.Name)
		}
		total += p.Length
		names += int64(len(p.Name))
	}
	switch {
	case names > MaxPieceNames:
		return fmt.Errorf("%w: packed split names %d bytes of files, limit %d", ErrBadConfig, names, MaxPieceNames)
	case s.Length != total:
		return fmt.Errorf("%w: packed split of %d bytes whose pieces hold %d", ErrBadConfig, s.Length, total)
	}
	return nil
}

// validate checks that the cut points fit the reduces and are in order.
// A sample task carries an Order without cuts.
func (o *Order) validate(reduces int) error {
	if o == nil || len(o.Cuts) == 0 {
		return nil
	}
	if len(o.Cuts) != reduces-1 {
		return fmt.Errorf("%w: %d cut points for %d reduces: want %d", ErrBadConfig, len(o.Cuts), reduces, reduces-1)
	}
	n := 0
	for i, c := range o.Cuts {
		n += len(c)
		if i > 0 && c < o.Cuts[i-1] {
			return fmt.Errorf("%w: cut point %d is before cut point %d", ErrBadConfig, i, i-1)
		}
	}
	if n > MaxCutBytes {
		return fmt.Errorf("%w: cut points of %d bytes, limit %d", ErrBadConfig, n, MaxCutBytes)
	}
	return nil
}

func (in Input) validate() error {
	if p, _, ok := ParseTaskID(in.Map); !ok || p != PhaseMap {
		return fmt.Errorf("%w: reduce input %q names map task %q, which is not a map task id", ErrBadConfig, in.File, in.Map)
	}
	if in.File == "" || in.Attempt < 0 || in.Size < 0 {
		return fmt.Errorf("%w: reduce input of map %s has no file, or a negative attempt or size", ErrBadConfig, in.Map)
	}
	return nil
}

// Status of a finished attempt as the program reports it.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// Result is what a task program writes to result.msgpack when it ends.
type Result struct {
	Status string `msgpack:"status"`
	Error  string `msgpack:"error,omitempty"`
	// Fatal marks a failure that no retry can fix (a bad config, an unknown
	// format name): the job fails at once instead of burning attempts.
	Fatal    bool             `msgpack:"fatal,omitempty"`
	Counters map[string]int64 `msgpack:"counters"`
	Outputs  []OutputFile     `msgpack:"outputs"`
	// BadInput, on a failed reduce, names the map output it found damaged:
	// the worker has that map run again instead of charging the reduce.
	BadInput *BadInput `msgpack:"bad_input,omitempty"`
	// Sample is what a sample task reports: the keys Map emitted for the
	// records it sampled, unsorted, within the Sample* bounds.
	Sample []string `msgpack:"sample,omitempty"`
}

// BadInput names a reduce input that is not what its map wrote: not the
// size or CRC-32C the map reported, out of key order, or undecodable.
type BadInput struct {
	Map     string `msgpack:"map"`     // map task id, as in Input.Map
	Attempt int    `msgpack:"attempt"` // its attempt, as in Input.Attempt
	Why     string `msgpack:"why"`     // what was wrong, one line
}

// OutputFile describes one file the task wrote under out/.
type OutputFile struct {
	Name      string `msgpack:"name"`      // file name under out/
	Partition int    `msgpack:"partition"` // reduce partition (map output) or part number
	Size      int64  `msgpack:"size"`
	CRC32C    uint32 `msgpack:"crc32c"` // Castagnoli CRC of the whole file
	Records   int64  `msgpack:"records"`
}

// Standard counters every task maintains.
const (
	CounterInputRecords  = "input.records"
	CounterInputBytes    = "input.bytes"
	CounterOutputRecords = "output.records"
	CounterOutputBytes   = "output.bytes"
	CounterReduceGroups  = "reduce.groups"
)

// ReadConfig reads and validates a task.msgpack file.
func ReadConfig(path string) (*Config, error) {
	var c Config
	if err := readMsgpack(path, MaxConfigSize, &c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// DecodeConfig decodes and validates a task config from bytes.
func DecodeConfig(b []byte) (*Config, error) {
	if len(b) > MaxConfigSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadConfig, len(b), MaxConfigSize)
	}
	var c Config
	if err := msgpackx.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// ReadResult reads a result.msgpack file.
func ReadResult(path string) (*Result, error) {
	var r Result
	if err := readMsgpack(path, MaxConfigSize, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// WriteFile writes v as msgpack to path atomically (temp file, rename).
func WriteFile(path string, v any) error {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(path))
}

func readMsgpack(path string, limit int64, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > limit {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrBadConfig, path, st.Size(), limit)
	}
	// Read at most limit+1 bytes: the file may grow after the Stat.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("%w: %s is over %d bytes", ErrBadConfig, path, limit)
	}
	if err := msgpackx.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadConfig, path, err)
	}
	return nil
}
