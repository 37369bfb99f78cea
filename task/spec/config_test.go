package spec

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// A map with no input (dist run --tasks) must be refused by a program
// built before such maps existed, not run over nothing. That program knew
// a Split of File and FD only, and refused a map with neither (the rule
// Validate applied then, repeated here); Tasks reaches it as an unknown
// key, which msgpack skips.
func TestNoInputRefusedByOlderPrograms(t *testing.T) {
	c := Config{Job: "j", Task: "m-00002", Phase: PhaseMap, Index: 2, Split: Split{Tasks: 3}}
	b, err := msgpack.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		Phase Phase `msgpack:"phase"`
		Split struct {
			File string `msgpack:"file"`
			FD   int    `msgpack:"fd,omitempty"`
		} `msgpack:"split"`
	}
	if err := msgpack.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	if old.Phase != PhaseMap || old.Split.File != "" || old.Split.FD > 2 {
		t.Fatalf("an older program reads %+v: it would run Map over a split", old)
	}

	got, err := DecodeConfig(b)
	if err != nil {
		t.Fatalf("this package refuses a map with no input: %v", err)
	}
	if got.Split.Tasks != 3 {
		t.Fatalf("Split.Tasks %d after decoding, want 3", got.Split.Tasks)
	}
}

func TestNoInputValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		split Split
		ok    bool
	}{
		{"no input", Split{Tasks: 3}, true},
		{"staged split", Split{File: SplitFile}, true},
		{"in place", Split{FD: 3}, true},
		{"neither", Split{}, false},
		{"no input with a file", Split{Tasks: 3, File: SplitFile}, false},
		{"no input with a descriptor", Split{Tasks: 3, FD: 3}, false},
		{"index past the tasks", Split{Tasks: 2}, false},
		{"negative tasks", Split{Tasks: -1}, false},
	} {
		c := Config{Job: "j", Task: "m-00002", Phase: PhaseMap, Index: 2, Split: tc.split}
		err := c.Validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadConfig)) {
			t.Errorf("%s: Validate = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// ValidName accepts what the rule it documents accepts, and nothing else.
func TestValidName(t *testing.T) {
	rule := regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	names := []string{"", ".", "..", "...", "j20261201-201211-a0744a84", "m-00000", "part-00000", "a/b", "a b",
		"naïve", "x\x00", "-", "_.", strings.Repeat("a", 128), strings.Repeat("a", 129), "A-Z_0.9"}
	for c := 0; c < 256; c++ {
		names = append(names, "a"+string(rune(c)), string([]byte{byte(c)}))
	}
	for _, s := range names {
		want := rule.MatchString(s) && s != "." && s != ".."
		if got := ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}

// A packed split (many small files in one map) must be refused by a
// program built before packing, not read as one file: File and FD are
// empty, as for a map with no input. A worker built before packing drops
// Pack and Pieces, names in/split as the file and passes Length -1 on,
// which this package refuses, and an older one fails to read as a split
// of that size.
func TestPackedRefusedByOlderProgramsAndWorkers(t *testing.T) {
	c := Config{Job: "j", Task: "m-00000", Phase: PhaseMap,
		Split: Split{Pack: SplitFile, Length: -1, Pieces: []Piece{{Name: "a", Length: 3}, {Name: "b", Length: 4}}}}
	b, err := msgpack.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		Phase Phase `msgpack:"phase"`
		Split struct {
			File   string `msgpack:"file"`
			FD     int    `msgpack:"fd,omitempty"`
			Length int64  `msgpack:"length"`
		} `msgpack:"split"`
	}
	if err := msgpack.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	if old.Split.File != "" || old.Split.FD > 2 || old.Split.Length != -1 {
		t.Fatalf("an older program reads %+v: it would read the packed files as one split", old)
	}

	staged := c // as a worker built before packing writes it
	staged.Split = Split{File: SplitFile, Length: c.Split.Length}
	if err := staged.Validate(); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("a packed split staged as one by an older worker: Validate says %v, want ErrBadConfig", err)
	}

	c.Split.Length = 7 // as a worker that packs sets it
	if err := c.Validate(); err != nil {
		t.Fatalf("a packed split: %v", err)
	}
}

func TestPackedValidate(t *testing.T) {
	two := []Piece{{Name: "a", Length: 3}, {Name: "b", Length: 4}}
	for _, tc := range []struct {
		name  string
		split Split
		ok    bool
	}{
		{"packed", Split{Pack: SplitFile, Length: 7, Pieces: two}, true},
		{"empty pieces", Split{Pack: SplitFile, Pieces: []Piece{{Name: "a"}, {Name: "b"}}}, true},
		{"no file", Split{Length: 7, Pieces: two}, false},
		{"no pieces", Split{Pack: SplitFile}, false},
		{"also a file", Split{Pack: SplitFile, File: SplitFile, Length: 7, Pieces: two}, false},
		{"also a descriptor", Split{Pack: SplitFile, FD: 3, Length: 7, Pieces: two}, false},
		{"an offset", Split{Pack: SplitFile, Offset: 1, Length: 7, Pieces: two}, false},
		{"wrong total", Split{Pack: SplitFile, Length: 6, Pieces: two}, false},
		{"negative piece", Split{Pack: SplitFile, Length: 2, Pieces: []Piece{{Name: "a", Length: 3}, {Name: "b", Length: -1}}}, false},
		{"too many pieces", Split{Pack: SplitFile, Pieces: make([]Piece, MaxPieces+1)}, false},
		{"names too long", Split{Pack: SplitFile, Pieces: []Piece{{Name: strings.Repeat("n", MaxPieceNames+1)}}}, false},
	} {
		c := Config{Job: "j", Task: "m-00000", Phase: PhaseMap, Split: tc.split}
		err := c.Validate()
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// A sample task reads packed files too, and still needs its order.
	c := Config{Job: "j", Task: "s-00000", Phase: PhaseSample, Split: Split{Pack: SplitFile, Length: 7, Pieces: two}}
	if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("packed sample task without an order: Validate() = %v, want ErrBadConfig", err)
	}
	c.Order = &Order{}
	if err := c.Validate(); err != nil {
		t.Errorf("packed sample task: %v", err)
	}
}

// A reduce's config lists every map's output. One of a job of 20,000
// maps is read back whole (1 MiB refused it), and the worst case the
// worker admits, 2^20 maps with the longest names and sizes, fits under
// MaxConfigSize.
func TestConfigOfManyMaps(t *testing.T) {
	reduce := func(maps int) *Config {
		c := &Config{Job: "j20261202-000000-00000000", Task: "r-00000", Phase: PhaseReduce, Reduces: 1}
		for m := range maps {
			id := TaskID(PhaseMap, 1<<20-1-m)
			c.Inputs = append(c.Inputs, Input{File: "in/" + id + "-3", Map: id, Attempt: 3, Size: 1 << 40, CRC32C: 0xffffffff})
		}
		return c
	}
	path := filepath.Join(t.TempDir(), ConfigFile)
	if err := WriteFile(path, reduce(20000)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(path)
	if err != nil || len(got.Inputs) != 20000 {
		t.Fatalf("a reduce of 20,000 maps read back: %v", err)
	}
	b, err := msgpack.Marshal(reduce(1 << 12))
	if err != nil {
		t.Fatal(err)
	}
	if worst := int64(len(b)) << 8; worst > MaxConfigSize {
		t.Fatalf("a reduce of 2^20 maps needs a config of about %d bytes, over MaxConfigSize (%d)", worst, MaxConfigSize)
	}
}
