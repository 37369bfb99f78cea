package task

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/distmr/dist/io/recordio"
	"github.com/distmr/dist/task/spec"
)

// Reduce inputs are map outputs this task did not write. Each is read
// through a checkedReader, whatever path it takes (the final merge or a
// merge pass), so every byte the reduce consumes is summed, and its end
// is only accepted when the size and CRC-32C are what the map reported.
// The merge also checks the key order and the record framing. Any of
// these failing is a *BadInputError naming the map.

// castagnoli is the CRC-32C table; crc32 builds it once and never
// changes it.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// mapInput is one reduce input: what the config says of it, where it is,
// and whether it has been read to its end and found whole.
type mapInput struct {
	spec.Input
	path     string
	verified bool
}

// bad blames the input's map for err, when err says the bytes are not
// what the map wrote. Other errors (a failing disk, say) are this task's
// problem and stay plain read errors, so they are retried like any
// failure rather than re-running a sound map.
func (in *mapInput) bad(err error) error {
	if !damaged(err) {
		return fmt.Errorf("read %s: %w", in.path, err)
	}
	return &BadInputError{Map: in.Map, Attempt: in.Attempt, Path: in.path, Err: err}
}

// damaged reports whether a read error means the input bytes are wrong.
func damaged(err error) bool {
	return errors.Is(err, ErrChecksum) || errors.Is(err, ErrUnsorted) || errors.Is(err, recordio.ErrTruncated) ||
		errors.Is(err, recordio.ErrCorrupt) || errors.Is(err, recordio.ErrTooLarge)
}

// checkedReader sums the bytes of one input as they are read.
type checkedReader struct {
	r   io.Reader
	in  *mapInput
	n   int64
	crc uint32
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	return n, err
}

// fail blames the input's map for err if it says the bytes are wrong.
func (c *checkedReader) fail(err error) error { return c.in.bad(err) }

// end is called when the records ran out: it accepts the input if every
// byte the map wrote, and nothing else, was read.
func (c *checkedReader) end() error {
	switch in := c.in; {
	case c.n != in.Size:
		return in.bad(fmt.Errorf("%w: it has %d bytes, the map wrote %d", ErrChecksum, c.n, in.Size))
	case c.crc != in.CRC32C:
		return in.bad(fmt.Errorf("%w: its bytes sum to CRC-32C %08x, the map's to %08x", ErrChecksum, c.crc, in.CRC32C))
	}
	c.in.verified = true
	return nil
}

// inputSource reads an input's records from r (the whole file) for a
// merge, checking them.
func inputSource(r io.Reader, in *mapInput, idx int) *source {
	c := &checkedReader{r: r, in: in}
	return &source{rd: recordio.NewReaderSize(c, mergeBuffer), name: in.path, idx: idx, in: c}
}

// reduceInputs resolves the config's inputs.
func (r *runner) reduceInputs() []*mapInput {
	ins := make([]*mapInput, len(r.cfg.Inputs))
	for i, in := range r.cfg.Inputs {
		ins[i] = &mapInput{Input: in, path: r.path(in.File)}
	}
	return ins
}

// allVerified makes sure the merge read every input to a sound end before
// the reduce's output may count. A merge that ends without error has; this
// guards the result against a future shortcut.
func allVerified(ins []*mapInput) error {
	for _, in := range ins {
		if !in.verified {
			return fmt.Errorf("input %s of map %s was not read to its end: its checksum is unchecked", in.path, in.Map)
		}
	}
	return nil
}

// blameInputs is called when a reduce failed for a reason that names no
// input, such as an app error or panic over a value it could not parse:
// if an input the merge had not finished reading turns out damaged, that
// is the cause, and its map is blamed. It reads only on failure.
func blameInputs(ins []*mapInput, err error) error {
	var bad *BadInputError
	if errors.As(err, &bad) {
		return err
	}
	for _, in := range ins {
		if in.verified {
			continue
		}
		if cerr := checkInput(in); errors.As(cerr, &bad) {
			return fmt.Errorf("%w (the reduce had failed with: %v)", bad, err)
		}
	}
	return err
}

// checkInput reads a whole input as a merge would.
func checkInput(in *mapInput) error {
	f, err := os.Open(in.path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := inputSource(f, in, 0)
	for {
		ok, err := s.advance()
		if !ok || err != nil {
			return err
		}
	}
}
