package task

import (
	"fmt"

	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task/spec"
)

// mapOutput is the collector of a map task with reduces: it sorts output
// in a bounded buffer, spills sorted runs to disk when the buffer fills,
// and at the end merges them into one sorted file per partition.
//
// An app with a Combine gets a combineBuffer instead of the sort buffer
// (see combinebuf.go); should most of its keys turn out to be distinct,
// the task switches to the sort buffer at the first spill. Runs from
// either buffer have the same form and merge together.
type mapOutput struct {
	r         *runner
	parts     int
	partition func(key string, n int) int
	limit     int64
	buf       *sortBuffer    // nil while comb is in use
	comb      *combineBuffer // the combine or group buffer, until the sort buffer takes over
	runs      []run
	failed    error
}

func newMapOutput(r *runner) *mapOutput {
	limit := r.cfg.SortBuffer
	if limit == 0 {
		limit = spec.DefaultSortBuffer
	}
	partition := r.app.Partition
	if partition == nil {
		partition = HashPartition
	}
	if r.cfg.Order != nil {
		partition = rangePartition(r.cfg.Order.Cuts)
	}
	m := &mapOutput{r: r, parts: r.cfg.Reduces, partition: partition, limit: limit}
	if r.app.Combine != nil {
		m.comb = newCombineBuffer(limit)
	} else {
		m.comb = newGroupBuffer(limit)
	}
	return m
}

func (m *mapOutput) emit(key, value string) {
	if m.failed != nil {
		return
	}
	if n := len(key) + len(value); n > recordio.DefaultMaxRecord {
		m.failed = fmt.Errorf("%w: key %q with a %d-byte value is over the %d-byte limit: emit smaller records",
			ErrRecordTooLarge, clip(key), len(value), recordio.DefaultMaxRecord)
		return
	}
	if m.comb != nil {
		m.failed = m.comb.add(m, key, value)
		switch {
		case m.failed != nil:
		case m.comb.group && m.comb.records == groupSample && m.comb.mostlyDistinct():
			// Keys barely repeat: sorting is cheaper than grouping.
			comb := m.comb
			m.comb, m.buf = nil, newSortBuffer(m.limit)
			m.failed = comb.unload(m.sortRecord)
		case m.comb.full():
			m.failed = m.spill()
		}
		return
	}
	p, err := m.partitionOf(key)
	if err != nil {
		m.failed = err
		return
	}
	m.failed = m.sortRecord(p, key, value)
}

// sortRecord puts a record in the sort buffer, spilling it first if full.
func (m *mapOutput) sortRecord(part int, key, value string) error {
	if !m.buf.fits(len(key) + len(value)) {
		if err := m.spill(); err != nil {
			return err
		}
	}
	m.buf.add(part, key, value)
	return nil
}

// partitionOf is the app's partition of key, checked.
func (m *mapOutput) partitionOf(key string) (int, error) {
	p := m.partition(key, m.parts)
	if p < 0 || p >= m.parts {
		return 0, fmt.Errorf("%w: Partition(%q, %d) returned %d: it must return a number from 0 to %d",
			ErrBadPartition, clip(key), m.parts, p, m.parts-1)
	}
	return p, nil
}

// combine runs the app's Combine for the combine buffer.
func (m *mapOutput) combine(key string, values Values, emit Emit) error {
	return m.r.app.Combine(m.r.ctx, key, values, emit)
}

func (m *mapOutput) err() error { return m.failed }

// abort has nothing to release: the runner removes the spill directory.
func (m *mapOutput) abort() {}

// spill sorts the buffer and writes it out as a run.
func (m *mapOutput) spill() error {
	if m.comb != nil {
		return m.spillCombined()
	}
	m.buf.sort(m.parts)
	run, err := m.r.writeRun(m.parts, true, m.buf.partition)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	m.runs = append(m.runs, run)
	m.buf.reset()
	return nil
}

// spillCombined writes the combine buffer out as a run. When combining
// barely shrank the output, the rest of the task sorts instead.
func (m *mapOutput) spillCombined() error {
	if err := m.comb.sort(m, m.parts); err != nil {
		return err
	}
	run, err := m.r.writeRun(m.parts, false, m.comb.partition)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	m.runs = append(m.runs, run)
	if m.comb.mostlyDistinct() {
		m.comb, m.buf = nil, newSortBuffer(m.limit)
		return nil
	}
	m.comb.reset()
	return nil
}

// finish writes out/map-NNNNN for every partition, empty ones included.
func (m *mapOutput) finish() ([]spec.OutputFile, error) {
	if len(m.runs) == 0 {
		// Everything fit in memory: no run files at all.
		if m.comb != nil {
			if err := m.comb.sort(m, m.parts); err != nil {
				return nil, err
			}
			return m.writeParts(m.comb.partition, false)
		}
		m.buf.sort(m.parts)
		return m.writeParts(m.buf.partition, true)
	}
	if m.comb != nil && m.comb.len() > 0 || m.buf != nil && m.buf.len() > 0 {
		if err := m.spill(); err != nil {
			return nil, err
		}
	}
	m.comb = nil
	if m.buf != nil {
		m.buf.release()
	}
	runs, err := m.r.mergePasses(m.runs, m.parts, true)
	if err != nil {
		return nil, err
	}
	set, err := openRuns(runs)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer set.close()
	outs, err := m.writeParts(func(p int) stream { return set.merge(p) }, true)
	if err != nil {
		return nil, err
	}
	if err := removeTemps(runs); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return outs, nil
}

// writeParts writes each partition's sorted stream to its output file,
// through Combine when combine is set.
func (m *mapOutput) writeParts(part func(p int) stream, combine bool) ([]spec.OutputFile, error) {
	outs := make([]spec.OutputFile, 0, m.parts)
	for p := range m.parts {
		name := spec.MapPartName(p)
		w, err := recordio.Create(m.r.outPath(name))
		if err != nil {
			return nil, fmt.Errorf("create output: %w", err)
		}
		if err := m.r.writeSorted(w, part(p), combine); err != nil {
			w.Close() // the file is void; the write error is the news
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		outs = append(outs, spec.OutputFile{Name: name, Partition: p, Size: w.Size(), CRC32C: w.CRC32C(), Records: w.Records()})
		m.r.outRecords.Add(w.Records())
		m.r.outBytes.Add(w.Size())
	}
	return outs, nil
}
