package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/localfs"
)

// split is one map task's input: a byte range of one file or object.
type split struct {
	Obj    storage.Object // what the range is of, as listed
	Path   string         // Local: the absolute path to read on this machine
	Name   string         // as the user named it (task.Context.InputFile)
	Offset int64
	Length int64
	// Lines says the range was cut without reading the data (S3,
	// worker:): the split is the lines that start inside it
	// (storage.OwnedLines), which the worker finds. Local files are cut
	// on line ends here, and their ranges are exact.
	Lines bool
	// None marks a map with no input (Config.Tasks): nothing to read,
	// list or send.
	None bool
	// Pieces, when set, are whole small files packed into this split
	// (pack.go), each a split of its own; Obj then has only their Kind
	// and Worker, and Length is their total.
	Pieces []split
}

// noInputSplits are the splits of n maps with no input.
func noInputSplits(n int) []split {
	out := make([]split, n)
	for i := range out {
		out[i].None = true
	}
	return out
}

// listLocal lists the local --input arguments (files, directories,
// quoted globs) through localfs: a sorted, de-duplicated list of regular
// files with their sizes and versions.
func listLocal(ctx context.Context, fsys *localfs.FS, patterns []string) ([]storage.Object, error) {
	objs, err := listInputs(ctx, fsys, patterns)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("%w: --input %s named only empty directories", ErrNoInput, strings.Join(patterns, " "))
	}
	slices.SortFunc(objs, func(a, b storage.Object) int { return strings.Compare(a.Name, b.Name) })
	return objs, nil
}

// listInputs lists every pattern in store, each object once, in the
// order listed.
func listInputs(ctx context.Context, store storage.Store, patterns []string) ([]storage.Object, error) {
	seen := map[string]bool{}
	var out []storage.Object
	for _, p := range patterns {
		objs, err := store.List(ctx, p)
		if err != nil {
			return nil, inputError(p, err)
		}
		for _, o := range objs {
			if !seen[o.Name] {
				seen[o.Name] = true
				out = append(out, o)
			}
		}
	}
	return out, nil
}

// inputError words a failure to list --input p: localfs's errors name
// the pattern or the file, s3store's the object.
func inputError(p string, err error) error {
	switch {
	case storage.KindOf(p) != storage.Local:
		return fmt.Errorf("%w: --input %s: %w", ErrNoInput, p, err)
	case errors.Is(err, storage.ErrNoMatch), errors.Is(err, localfs.ErrBadPattern):
		return fmt.Errorf("%w: --input %w", ErrNoInput, err)
	}
	return fmt.Errorf("%w: %w", ErrNoInput, err)
}

// makeSplits cuts listed local files into splits of at most about size
// bytes, each ending just after a newline so no line is cut in two.
// whole keeps every file in one split (for the wholefile format); so
// does a compressed file (.gz, .zst), which cannot be entered at a byte
// offset. Each split keeps its file as listed: a worker reading it in
// place, and the client sending it, refuse a file that changed since.
func makeSplits(ctx context.Context, fsys *localfs.FS, objs []storage.Object, size int64, whole bool) ([]split, error) {
	var out []split
	for _, obj := range objs {
		abs, err := filepath.Abs(obj.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoInput, err)
		}
		one := split{Obj: obj, Path: abs, Name: obj.Name, Length: obj.Size}
		if whole || obj.Size <= size || input.Compressed(obj.Name) {
			out = append(out, one)
			continue
		}
		cuts, err := lineCuts(ctx, fsys, obj, size)
		if err != nil {
			return nil, err
		}
		prev := int64(0)
		for _, c := range append(cuts, obj.Size) {
			if c > prev {
				one.Offset, one.Length = prev, c-prev
				out = append(out, one)
			}
			prev = c
		}
	}
	return out, nil
}

// rangeSplits cuts listed objects (S3, worker:) into byte ranges of size
// without reading them (Lines: the worker applies the line rule); whole
// keeps each in one split, and so does a compressed one.
func rangeSplits(objs []storage.Object, size int64, whole bool, name func(storage.Object) string) []split {
	var out []split
	for _, o := range objs {
		one := split{Obj: o, Name: name(o), Length: o.Size}
		if whole || o.Size <= size || input.Compressed(o.Name) {
			out = append(out, one)
			continue
		}
		one.Lines = true
		for off := int64(0); off < o.Size; off += size {
			one.Offset, one.Length = off, min(size, o.Size-off)
			out = append(out, one)
		}
	}
	return out
}

// lineCuts returns the offsets where splits of a listed file start: the
// first byte after the first newline at or past each multiple of size.
func lineCuts(ctx context.Context, fsys *localfs.FS, obj storage.Object, size int64) ([]int64, error) {
	f, err := fsys.OpenFile(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoInput, err)
	}
	defer f.Close()
	total := obj.Size
	var cuts []int64
	last := int64(0)
	for at := size; at < total; at += size {
		if at <= last {
			continue // a line longer than size swallowed this boundary
		}
		r := bufio.NewReaderSize(io.NewSectionReader(f, at-1, total-at+1), 64<<10)
		n, err := skipLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrNoInput, obj.Name, err)
		}
		cut := at - 1 + n
		if cut >= total {
			break
		}
		cuts = append(cuts, cut)
		last = cut
	}
	return cuts, nil
}

// skipLine reads through the next newline and returns how many bytes it
// consumed.
func skipLine(r *bufio.Reader) (int64, error) {
	var n int64
	for {
		b, err := r.ReadSlice('\n')
		n += int64(len(b))
		if err == bufio.ErrBufferFull {
			continue
		}
		return n, err
	}
}
