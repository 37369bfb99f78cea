package task

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/task/spec"
)

// collector receives a map task's output.
type collector interface {
	emit(key, value string)
	// err reports the first failure of emit; the task stops on it.
	err() error
	// finish writes what is left and describes the output files.
	finish() ([]spec.OutputFile, error)
	// abort releases what finish would have, after a failure.
	abort()
}

// runMap feeds the split's records to Map; a map with no input gets
// one record, its task index.
func (r *runner) runMap() ([]spec.OutputFile, error) {
	s := r.cfg.Split
	in, done, err := r.openInput()
	if err != nil {
		return nil, err
	}
	defer done()
	defer in.Close() // read-only: a close error loses nothing

	col, err := r.collector()
	if err != nil {
		return nil, err
	}
	defer col.abort()
	mapFn := r.app.Map
	if mapFn == nil {
		mapFn = identityMap
	}
	emit := Emit(col.emit) // once: a method value made per record would be allocated per record
	for {
		key, value, ok, err := r.next(in)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if err := mapFn(r.ctx, key, value, emit); err != nil {
			if s.Tasks != 0 {
				return nil, fmt.Errorf("map %s (no input): %w", key, err)
			}
			return nil, fmt.Errorf("%s record %q: %w", r.ctx.InputFile(), clip(key), err)
		}
		if err := col.err(); err != nil {
			return nil, err
		}
	}
	if r.app.Flush != nil {
		if err := r.app.Flush(r.ctx, emit); err != nil {
			return nil, fmt.Errorf("flush: %w", err)
		}
		if err := col.err(); err != nil {
			return nil, err
		}
	}
	return col.finish()
}

// openInput opens the map's input with its format, or the one record of
// a map with no input (dist run --tasks), and returns the function that
// releases the split once the reader is closed.
func (r *runner) openInput() (input.Reader, func(), error) {
	if r.cfg.Split.Tasks != 0 {
		return &taskIndex{key: strconv.Itoa(r.cfg.Index)}, func() {}, nil
	}
	return r.openSplit()
}

// openSplit opens the map's split with the job's input format and
// returns the function that releases it once the reader is closed.
func (r *runner) openSplit() (input.Reader, func(), error) {
	if len(r.cfg.Split.Pieces) > 0 {
		p, size, err := r.openPacked()
		if err != nil {
			return nil, nil, err
		}
		r.inBytes.Add(size)
		return p, func() {}, nil
	}
	split, size, done := r.split()
	in, err := r.inFmt.Open(split)
	if errors.Is(err, input.ErrCorrupt) {
		done()
		return nil, nil, fmt.Errorf("read input: %w", err) // it names the file
	}
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("open input %s: %w", r.cfg.Split.Name, err)
	}
	r.inBytes.Add(size)
	return in, done, nil
}

// next reads in's next record and counts it; ok is false after the last.
func (r *runner) next(in input.Reader) (key, value string, ok bool, err error) {
	key, value, err = in.Next()
	if err == io.EOF {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("read input: %w", err)
	}
	r.inRecords.Add(1)
	return key, value, true, nil
}

// taskIndex is the input of a map with no input: one record, the task's
// index as key and an empty value.
type taskIndex struct {
	key  string
	read bool
}

func (t *taskIndex) Next() (key, value string, err error) {
	if t.read {
		return "", "", io.EOF
	}
	t.read = true
	return t.key, "", nil
}

func (t *taskIndex) Close() error { return nil }

// split is the map's input as its format reads it, with its size in
// bytes (as stored: compressed, for a compressed input) and the function
// that releases it. The worker either staged the split as a file
// (Split.File) or opened the original input for the task as descriptor
// Split.FD, to be read in place.
func (r *runner) split() (input.Split, int64, func()) {
	s := r.cfg.Split
	split := input.Split{Name: s.Name, Offset: s.Offset, Length: s.Length}
	if s.FD > 2 {
		closeOnExec(s.FD)
		f := os.NewFile(uintptr(s.FD), s.Name)
		split.Source = f
		return split, s.Length, func() { f.Close() }
	}
	split.Path = r.path(s.File)
	var size int64
	if st, err := os.Stat(split.Path); err == nil {
		size = st.Size()
	}
	return split, size, func() {}
}

// collector picks where map output goes: straight to the job output in a
// map-only job, else through the sort buffer to the partition files.
func (r *runner) collector() (collector, error) {
	if r.cfg.Reduces == 0 {
		name := spec.PartName(r.cfg.Index)
		out, err := newSink(r.outPath(name), name, r.cfg.Index, r.outFmt)
		if err != nil {
			return nil, fmt.Errorf("create output: %w", err)
		}
		return &directOutput{r: r, out: out}, nil
	}
	return newMapOutput(r), nil
}

// directOutput is the collector of a map-only task.
type directOutput struct {
	r   *runner
	out *sink
}

func (d *directOutput) emit(key, value string) { d.out.emit(key, value) }
func (d *directOutput) err() error             { return d.out.err }
func (d *directOutput) abort()                 { d.out.abort() }

func (d *directOutput) finish() ([]spec.OutputFile, error) {
	f, err := d.out.close()
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", d.out.file.Name, err)
	}
	d.r.outRecords.Add(f.Records)
	d.r.outBytes.Add(f.Size)
	return []spec.OutputFile{f}, nil
}
