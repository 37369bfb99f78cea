// Package named looks things up by name in a map, as io/input and
// io/output do for their formats: one place for the empty name's meaning,
// the nil entry's (a format an app removed), and the error that lists
// what is known.
package named

import (
	"fmt"
	"slices"
	"strings"
)

// Lookup returns m[name], or m[def] when name is empty. A missing or nil
// entry gives an error that wraps unknown and lists the known names:
// `unknown input format "x" (known: kv, text, wholefile)`.
func Lookup[T any](m map[string]T, name, def string, unknown error) (T, error) {
	if name == "" {
		name = def
	}
	if v, ok := m[name]; ok && !isNil(v) {
		return v, nil
	}
	var zero T
	return zero, fmt.Errorf("%w %q (known: %s)", unknown, name, strings.Join(Names(m), ", "))
}

// Names returns the names of m's non-nil entries, sorted.
func Names[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for name, v := range m {
		if !isNil(v) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// isNil reports whether v is a nil interface value: an entry set to nil
// takes a name out of the map's defaults.
func isNil[T any](v T) bool { return any(v) == nil }
