package task

import (
	"fmt"

	"github.com/distmr/dist/io/recordio"
)

// mapOutput is the collector of a map task with reduces: it sorts output
// in a bounded buffer, spills sorted runs to disk when the buffer fills,
// and at the end merges them into one sorted file per partition.
type mapOutput struct {
	r         *runner
	parts     int
	partition func(key string, n int) int
	buf       *sortBuffer
	runs      []run
	failed    error
}

func newMapOutput(r *runner) *mapOutput {
	limit := r.cfg.SortBuffer
	if limit == 0 {
		limit = DefaultSortBuffer
	}
	partition := r.app.Partition
	if partition == nil {
		partition = HashPartition
	}
	return &mapOutput{r: r, parts: r.cfg.Reduces, partition: partition, buf: newSortBuffer(limit)}
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
	p := m.partition(key, m.parts)
	if p < 0 || p >= m.parts {
		m.failed = fmt.Errorf("%w: Partition(%q, %d) returned %d: it must return a number from 0 to %d",
			ErrBadPartition, clip(key), m.parts, p, m.parts-1)
		return
	}
	m.buf.add(p, key, value)
	if m.buf.full() {
		m.failed = m.spill()
	}
}

func (m *mapOutput) err() error { return m.failed }

// abort has nothing to release: the runner removes the spill directory.
func (m *mapOutput) abort() {}

// spill sorts the buffer and writes it out as a run.
func (m *mapOutput) spill() error {
	m.buf.sort(m.parts)
	run, err := m.r.writeRun(m.parts, true, m.buf.partition)
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	m.runs = append(m.runs, run)
	m.buf.reset()
	return nil
}

// finish writes out/map-NNNNN for every partition, empty ones included.
func (m *mapOutput) finish() ([]OutputFile, error) {
	if len(m.runs) == 0 {
		// Everything fit in memory: no run files at all.
		m.buf.sort(m.parts)
		return m.writeParts(m.buf.partition)
	}
	if m.buf.len() > 0 {
		if err := m.spill(); err != nil {
			return nil, err
		}
	}
	m.buf.release()
	runs, err := m.r.mergePasses(m.runs, m.parts, true)
	if err != nil {
		return nil, err
	}
	set, err := openRuns(runs)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer set.close()
	outs, err := m.writeParts(func(p int) stream { return set.merge(p) })
	if err != nil {
		return nil, err
	}
	if err := removeTemps(runs); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return outs, nil
}

// writeParts writes each partition's sorted stream to its output file.
func (m *mapOutput) writeParts(part func(p int) stream) ([]OutputFile, error) {
	outs := make([]OutputFile, 0, m.parts)
	for p := range m.parts {
		name := MapPartName(p)
		w, err := recordio.Create(m.r.outPath(name))
		if err != nil {
			return nil, fmt.Errorf("create output: %w", err)
		}
		if err := m.r.writeSorted(w, part(p), true); err != nil {
			w.Close() // the file is void; the write error is the news
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		outs = append(outs, OutputFile{Name: name, Partition: p, Size: w.Size(), CRC32C: w.CRC32C(), Records: w.Records()})
		m.r.outRecords.Add(w.Records())
		m.r.outBytes.Add(w.Size())
	}
	return outs, nil
}
