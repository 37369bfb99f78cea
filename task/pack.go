package task

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/task/spec"
)

// packed reads a packed split (spec.Split.Pieces): the worker staged the
// files one after another in one file, and each is read as a split of
// its own with the job's format, so keys (byte offsets), the line rule
// and Context.InputFile are per file, as when each file is a map.
type packed struct {
	f      *os.File
	format input.Format
	pieces []spec.Piece
	ctx    *Context // told which file the records come from
	at     int64    // where the next piece starts in f
	next   int      // the next piece to open
	cur    input.Reader
}

// openPacked opens the staged file of a packed split and checks that it
// holds the pieces' bytes, no more, no less.
func (r *runner) openPacked() (*packed, int64, error) {
	s := r.cfg.Split
	f, err := os.Open(r.path(s.Pack))
	if err != nil {
		return nil, 0, fmt.Errorf("open input: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() != s.Length {
		err = fmt.Errorf("%w: %s holds %d bytes but its %d pieces are %d: the input was not staged completely",
			input.ErrSplitSize, s.Pack, st.Size(), len(s.Pieces), s.Length)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("open input: %w", err)
	}
	return &packed{f: f, format: r.inFmt, pieces: s.Pieces, ctx: r.ctx}, s.Length, nil
}

// Next implements input.Reader: the records of each piece in turn.
func (p *packed) Next() (key, value string, err error) {
	for {
		if p.cur == nil {
			if p.next == len(p.pieces) {
				return "", "", io.EOF
			}
			pc := p.pieces[p.next]
			sp := input.Split{Source: shifted{p.f, p.at}, Name: pc.Name, Length: pc.Length}
			r, err := p.format.Open(sp)
			if errors.Is(err, input.ErrCorrupt) {
				return "", "", err // it names the file
			}
			if err != nil {
				return "", "", fmt.Errorf("open %s: %w", pc.Name, err)
			}
			p.at += pc.Length
			p.next++
			p.cur = r
			p.ctx.setInputFile(pc.Name)
		}
		key, value, err = p.cur.Next()
		if err != io.EOF {
			return key, value, err
		}
		p.cur.Close() // read-only: a close error loses nothing
		p.cur = nil
	}
}

// Close implements input.Reader.
func (p *packed) Close() error {
	if p.cur != nil {
		p.cur.Close()
	}
	return p.f.Close()
}

// shifted is the part of a file from base on, read as if it began there:
// one piece of a packed split.
type shifted struct {
	r    io.ReaderAt
	base int64
}

func (s shifted) ReadAt(b []byte, off int64) (int, error) { return s.r.ReadAt(b, s.base+off) }
