package client

import (
	"errors"
	"strings"
	"testing"
)

// --tasks N and --input exclude each other, and one of them is needed.
func TestTasksConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs []string
		tasks  int
		want   string // "" when valid
	}{
		{"tasks", nil, 3, ""},
		{"inputs", []string{"in"}, 0, ""},
		{"neither", nil, 0, "--input is required"},
		{"both", []string{"in"}, 2, "exclude each other"},
		{"negative", nil, -1, "--tasks must be 1 or more"},
	} {
		err := Config{App: "app", Inputs: tc.inputs, Tasks: tc.tasks, Output: "out"}.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	if err := (Config{App: "app", Output: "out"}).Validate(); !errors.Is(err, ErrNoInput) {
		t.Errorf("no input: %v, want ErrNoInput", err)
	}
}

// --total-order samples the input: it needs some, and reduces to order.
func TestTotalOrderConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"with tasks", Config{App: "app", Tasks: 2, Reduces: 2, TotalOrder: true, Output: "out"}, "--tasks"},
		{"map-only", Config{App: "app", Inputs: []string{"in"}, TotalOrder: true, Output: "out"}, "--reduces 0"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
	if err := (Config{App: "app", Inputs: []string{"in"}, Reduces: 3, TotalOrder: true, Output: "out"}).Validate(); err != nil {
		t.Errorf("a --total-order job with input and reduces: %v", err)
	}
}
