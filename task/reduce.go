package task

import (
	"fmt"
	"os"

	"github.com/distmr/dist/task/spec"
)

// runReduce merges the map outputs of this partition and calls Reduce
// once per key. Every input is checked against its map's size and
// checksum as it is read (reduceinput.go), and the output counts only
// once all of them were read to a sound end.
func (r *runner) runReduce() ([]spec.OutputFile, error) {
	runs := make([]run, 0, len(r.inputs))
	for _, in := range r.inputs {
		st, err := os.Stat(in.path)
		if err != nil {
			return nil, fmt.Errorf("map output: %w", err)
		}
		r.inBytes.Add(st.Size())
		runs = append(runs, run{path: in.path, offs: []int64{0, st.Size()}, in: in})
	}
	runs, err := r.mergePasses(runs, 1, false)
	if err != nil {
		return nil, err
	}
	set, err := openRuns(runs)
	if err != nil {
		return nil, fmt.Errorf("map output: %w", err)
	}
	defer set.close()

	name := spec.PartName(r.cfg.Index)
	out, err := newSink(r.outPath(name), name, r.cfg.Index, r.outFmt)
	if err != nil {
		return nil, fmt.Errorf("create output: %w", err)
	}
	defer out.abort()
	reduce := r.app.Reduce
	if reduce == nil {
		reduce = identityReduce
	}
	merged := set.merge(0)
	emit := Emit(out.emit) // once, not per key
	err = eachGroup(merged, func(key string, values Values) error {
		r.groups.Add(1)
		if err := reduce(r.ctx, key, values, emit); err != nil {
			return fmt.Errorf("key %q: %w", clip(key), err)
		}
		if out.err != nil {
			return fmt.Errorf("write %s: %w", name, out.err)
		}
		return nil
	})
	r.inRecords.Add(merged.n)
	if err == nil {
		err = allVerified(r.inputs)
	}
	if err != nil {
		return nil, err
	}
	if r.app.Flush != nil {
		if err := r.app.Flush(r.ctx, emit); err != nil {
			return nil, fmt.Errorf("flush: %w", err)
		}
		if out.err != nil {
			return nil, fmt.Errorf("write %s: %w", name, out.err)
		}
	}
	f, err := out.close()
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", name, err)
	}
	if err := removeTemps(runs); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	r.outRecords.Add(f.Records)
	r.outBytes.Add(f.Size)
	return []spec.OutputFile{f}, nil
}
