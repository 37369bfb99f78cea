package streaming

import (
	"io"
	"slices"
	"strings"

	"github.com/distmr/dist/task"
)

// combiner collects map output and runs it, sorted by key, through the
// combiner command one batch at a time; the command's output goes on to
// the task's emit.
type combiner struct {
	cmd    Command
	env    []string
	stderr io.Writer
	limit  int // bytes per batch

	recs []record
	size int
	proc *proc // the batch being combined, for cleanup
	line []byte
}

type record struct{ key, value string }

// add collects one record, combining the batch once it is full.
func (c *combiner) add(key, value string, emit task.Emit) error {
	c.recs = append(c.recs, record{key, value})
	c.size += len(key) + len(value) + 2
	if c.size < c.limit {
		return nil
	}
	return c.flush(emit)
}

// flush combines what has been collected.
func (c *combiner) flush(emit task.Emit) error {
	if len(c.recs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.recs, func(a, b record) int { return strings.Compare(a.key, b.key) })
	p, err := start("combiner", c.cmd, c.env, c.stderr)
	if err != nil {
		return err
	}
	c.proc = p
	out := func(k, v string) error { emit(k, v); return nil }
	for _, r := range c.recs {
		c.line = append(append(append(append(c.line[:0], r.key...), '\t'), r.value...), '\n')
		if err := p.write(c.line, out); err != nil {
			return err
		}
	}
	if err := p.finish(out); err != nil {
		return err
	}
	clear(c.recs)
	c.recs, c.size, c.proc = c.recs[:0], 0, nil
	return nil
}
