package spec

import (
	"errors"
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
