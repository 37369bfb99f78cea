package scaffold

import "errors"

var (
	// ErrNoSource marks a directory that is not a checkout of dist, or a
	// search that found none.
	ErrNoSource = errors.New("no dist checkout")
	// ErrNotEmpty marks a target directory that already holds files.
	ErrNotEmpty = errors.New("directory not empty")
	// ErrBadName marks a directory whose name cannot be a module path.
	ErrBadName = errors.New("bad module name")
)
