package task

import (
	"fmt"
	"io"
	"os"

	"github.com/distmr/dist/io/recordio"
)

// mergeFactor is the most runs merged at once. More runs are merged in
// passes, so a task's memory does not grow with the number of runs.
const mergeFactor = 64

// mergeBuffer is the read buffer of each run in a merge.
const mergeBuffer = 32 << 10

// run is a sorted recordio file holding the records of several
// partitions one after another: partition p is bytes offs[p] to
// offs[p+1]. A reduce input is a run with one partition.
type run struct {
	path string
	offs []int64
	in   *mapInput // a reduce input, which this task did not write: check it, never delete it
}

// runSet is a group of runs open for merging.
type runSet struct {
	runs  []run
	files []*os.File
}

func openRuns(runs []run) (*runSet, error) {
	set := &runSet{runs: runs}
	for _, r := range runs {
		f, err := os.Open(r.path)
		if err != nil {
			set.close()
			return nil, err
		}
		set.files = append(set.files, f)
	}
	return set, nil
}

// merge streams partition p of every run in the set, merged.
func (s *runSet) merge(p int) *mergeStream {
	srcs := make([]*source, len(s.runs))
	for i, r := range s.runs {
		sec := io.NewSectionReader(s.files[i], r.offs[p], r.offs[p+1]-r.offs[p])
		if r.in != nil {
			srcs[i] = inputSource(sec, r.in, i)
			continue
		}
		srcs[i] = &source{rd: recordio.NewReaderSize(sec, mergeBuffer), name: r.path, idx: i}
	}
	return newMerge(srcs)
}

// close closes the files; they were only read, so nothing can be lost.
func (s *runSet) close() {
	for _, f := range s.files {
		f.Close()
	}
}

// removeTemps deletes the runs this task wrote itself.
func removeTemps(runs []run) error {
	for _, r := range runs {
		if r.in == nil {
			if err := os.Remove(r.path); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergePasses merges runs in groups of mergeFactor, keeping their order,
// until at most mergeFactor are left.
func (r *runner) mergePasses(runs []run, parts int, combine bool) ([]run, error) {
	for len(runs) > mergeFactor {
		var next []run
		for i := 0; i < len(runs); i += mergeFactor {
			group := runs[i:min(i+mergeFactor, len(runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			merged, err := r.mergeRuns(group, parts, combine)
			if err != nil {
				return nil, err
			}
			next = append(next, merged)
		}
		runs = next
	}
	return runs, nil
}

// mergeRuns merges a group of runs into one new run.
func (r *runner) mergeRuns(group []run, parts int, combine bool) (run, error) {
	set, err := openRuns(group)
	if err != nil {
		return run{}, fmt.Errorf("merge: %w", err)
	}
	defer set.close()
	out, err := r.writeRun(parts, combine, func(p int) stream { return set.merge(p) })
	if err != nil {
		return run{}, fmt.Errorf("merge: %w", err)
	}
	if err := removeTemps(group); err != nil {
		return run{}, fmt.Errorf("merge: %w", err)
	}
	return out, nil
}

// writeRun writes a new spill file holding, for each of parts partitions
// in order, the records of the sorted stream part(p).
func (r *runner) writeRun(parts int, combine bool, part func(p int) stream) (run, error) {
	path, err := r.newSpillPath()
	if err != nil {
		return run{}, err
	}
	w, err := recordio.Create(path)
	if err != nil {
		return run{}, err
	}
	offs := make([]int64, parts+1)
	for p := range parts {
		offs[p] = w.Size()
		if err := r.writeSorted(w, part(p), combine); err != nil {
			w.Close() // the run is void; the write error is the news
			return run{}, err
		}
	}
	offs[parts] = w.Size()
	if err := w.Close(); err != nil {
		return run{}, err
	}
	return run{path: path, offs: offs}, nil
}

// writeSorted copies a sorted stream to w, through the app's Combine when
// combine is set and the app has one.
func (r *runner) writeSorted(w *recordio.Writer, s stream, combine bool) error {
	if !combine || r.app.Combine == nil {
		for s.Next() {
			if err := w.Write(s.Key(), s.Value()); err != nil {
				return err
			}
		}
		return s.Err()
	}
	cw := &combineWriter{w: w}
	emit := Emit(cw.emit) // one Emit for every group, not a closure each
	return eachGroup(s, func(key string, values Values) error {
		cw.key, cw.err = key, nil
		if err := r.app.Combine(r.ctx, key, values, emit); err != nil {
			return fmt.Errorf("combine: key %q: %w", clip(key), err)
		}
		return cw.err
	})
}

// combineWriter is the Emit of a Combine whose output goes to a file.
type combineWriter struct {
	w   *recordio.Writer
	key string // the key being combined
	err error
}

func (c *combineWriter) emit(k, v string) {
	switch {
	case c.err != nil:
	case k != c.key:
		c.err = fmt.Errorf("%w: given key %q, it emitted %q: Combine must emit only the key it is given",
			ErrCombineKey, clip(c.key), clip(k))
	default:
		c.err = c.w.WriteString(k, v)
	}
}
