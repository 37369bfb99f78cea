package registry

import (
	"errors"
	"slices"
	"testing"
)

func TestParseZKSpec(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		servers []string
		root    string
	}{
		{"127.0.0.1:2181", []string{"127.0.0.1:2181"}, "/dist"},
		{"zk1", []string{"zk1:2181"}, "/dist"},
		{" zk1:1, zk2:2 ,zk3 ", []string{"zk1:1", "zk2:2", "zk3:2181"}, "/dist"},
		{"h:1/myjobs", []string{"h:1"}, "/myjobs"},
		{"h:1,h:2/a/b", []string{"h:1", "h:2"}, "/a/b"},
		{"h:1/", []string{"h:1"}, "/dist"},
		{"[::1]:2181/x", []string{"[::1]:2181"}, "/x"},
		{"[::1]", []string{"[::1]:2181"}, "/dist"},
	} {
		got, err := ParseZKSpec(tc.spec)
		if err != nil {
			t.Errorf("ParseZKSpec(%q): %v", tc.spec, err)
			continue
		}
		if !slices.Equal(got.Servers, tc.servers) || got.Root != tc.root {
			t.Errorf("ParseZKSpec(%q) = %v %q, want %v %q", tc.spec, got.Servers, got.Root, tc.servers, tc.root)
		}
	}
}

func TestParseZKSpecErrors(t *testing.T) {
	for _, spec := range []string{
		"", "  ", ",", "h:1,,h:2", ":2181", "h:0", "h:65536", "h:port",
		"::1", "h:1/a//b", "h:1/a/", "h:1/./a", "h:1/a/..",
	} {
		if _, err := ParseZKSpec(spec); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("ParseZKSpec(%q) = %v, want ErrInvalidSpec", spec, err)
		}
	}
}

func TestZKSpecPaths(t *testing.T) {
	s, err := ParseZKSpec("h:1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NodePath("w1"); got != "/jobs/workers/w1" {
		t.Errorf("NodePath = %q", got)
	}
	if got := s.String(); got != "h:1/jobs" {
		t.Errorf("String = %q", got)
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"w1", "host-1:7070", "10.0.0.1_9000", "ünïcode"} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	long := string(make([]byte, 256))
	for _, id := range []string{"", ".", "..", "a/b", "a\x00b", "a\nb", "\xff", long} {
		if err := ValidateID(id); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}
