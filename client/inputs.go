package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/io/storage"
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
}

// expandInputs turns --input arguments (files, directories, quoted globs)
// into a sorted, de-duplicated list of regular files.
func expandInputs(patterns []string) ([]string, error) {
	seen := map[string]bool{}
	var files []string
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("%w: --input %q is not a valid glob: %v", ErrNoInput, p, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%w: --input %q matched no file", ErrNoInput, p)
		}
		for _, m := range matches {
			fs, err := regularFiles(m)
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				if !seen[f] {
					seen[f] = true
					files = append(files, f)
				}
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: --input %s named only empty directories", ErrNoInput, strings.Join(patterns, " "))
	}
	sort.Strings(files)
	return files, nil
}

// regularFiles returns path itself, or the visible regular files directly
// inside it when it is a directory.
func regularFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read input: %v", ErrNoInput, err)
	}
	if st.Mode().IsRegular() {
		return []string{path}, checkReadable(path)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: input %s is not a regular file", ErrNoInput, path)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot list input directory: %v", ErrNoInput, err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(path, e.Name())
		if err := checkReadable(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: cannot read input: %v", ErrNoInput, err)
	}
	return f.Close()
}

// makeSplits cuts local files into splits of at most about size bytes,
// each ending just after a newline so no line is cut in two. whole keeps
// every file in one split (for the wholefile format); so does a
// compressed file (.gz, .zst), which cannot be entered at a byte offset.
// Each split remembers its file's size and modification time: a worker
// reading it in place, and the client sending it, refuse a file that
// changed since.
func makeSplits(files []string, size int64, whole bool) ([]split, error) {
	var out []split
	for _, path := range files {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoInput, err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoInput, err)
		}
		obj := storage.Object{Name: path, Kind: storage.Local, Size: st.Size(), Version: fileVersion(st)}
		one := split{Obj: obj, Path: abs, Name: path, Length: st.Size()}
		if whole || st.Size() <= size || input.Compressed(path) {
			out = append(out, one)
			continue
		}
		cuts, err := lineCuts(abs, st.Size(), size)
		if err != nil {
			return nil, err
		}
		prev := int64(0)
		for _, c := range append(cuts, st.Size()) {
			if c > prev {
				one.Offset, one.Length = prev, c-prev
				out = append(out, one)
			}
			prev = c
		}
	}
	return out, nil
}

// fileVersion is what must still hold of a local file when it is read:
// its modification time in nanoseconds.
func fileVersion(st os.FileInfo) string { return strconv.FormatInt(st.ModTime().UnixNano(), 10) }

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

// lineCuts returns the offsets where splits of a file of total bytes start:
// the first byte after the first newline at or past each multiple of size.
func lineCuts(path string, total, size int64) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoInput, err)
	}
	defer f.Close()
	var cuts []int64
	last := int64(0)
	for at := size; at < total; at += size {
		if at <= last {
			continue // a line longer than size swallowed this boundary
		}
		r := bufio.NewReaderSize(io.NewSectionReader(f, at-1, total-at+1), 64<<10)
		n, err := skipLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: reading %s: %v", ErrNoInput, path, err)
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
