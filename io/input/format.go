package input

import (
	"fmt"
	"io"
	"os"

	"github.com/distmr/dist/io/named"
)

// Default is the format used when none is named.
const Default = "text"

// DefaultMaxLine bounds one line of text or kv input: 64 MiB.
const DefaultMaxLine = 64 << 20

// Split is the piece of input one map task reads.
type Split struct {
	// Path is where the split's bytes are: the file the worker staged.
	// It is not used when Source is set.
	Path string
	// Source, when set, holds the original input itself (a file the
	// worker opened for the task, read in place): the split is its bytes
	// [Offset, Offset+Length), exactly, so Length 0 is an empty split.
	// Readers do not close it; whoever opened it does.
	Source io.ReaderAt
	// Name is the input path as the user named it; wholefile keys use it
	// and errors mention it.
	Name string
	// Offset is the position of the split's first byte in the original
	// file; text keys count from it. A compressed input (see Compressed)
	// is one split with Offset 0, and its text keys count bytes of the
	// decompressed stream.
	Offset int64
	// Length is the number of bytes in the split. The file at Path must
	// have exactly this size; zero means "whatever the file holds" (with
	// Source, zero bytes).
	Length int64
}

// Reader yields the records of one split.
type Reader interface {
	// Next returns the next record, or io.EOF after the last one.
	Next() (key, value string, err error)
	// Close releases the file.
	Close() error
}

// Format opens splits of one kind of input.
type Format interface {
	Open(s Split) (Reader, error)
}

// Formats maps format names to formats.
type Formats map[string]Format

// Defaults returns a new map holding the standard formats: text,
// wholefile and kv, each with its default limits.
func Defaults() Formats {
	return Formats{
		"text":      Text{},
		"wholefile": WholeFile{},
		"kv":        KV{},
	}
}

// Lookup returns the format called name; the empty name means Default.
// An unknown name gives an error listing the known ones.
func (fs Formats) Lookup(name string) (Format, error) {
	return named.Lookup(fs, name, Default, ErrUnknownFormat)
}

// Names returns the names of the formats, sorted.
func (fs Formats) Names() []string { return named.Names(fs) }

// open opens the split's file, checks its size against Length, and
// decompresses it when its Name says so (see Decompress). size is the
// number of bytes the reader gives, or -1 when that is not known before
// reading (a compressed file).
func open(s Split) (r io.ReadCloser, size int64, err error) {
	if Compressed(s.Name) && s.Offset != 0 {
		return nil, 0, fmt.Errorf("%w: %s is compressed, so it is one split, but this split starts at byte %d",
			ErrSplitSize, s.Name, s.Offset)
	}
	if s.Source != nil {
		r = &inPlace{r: io.NewSectionReader(s.Source, s.Offset, s.Length), split: s}
		if !Compressed(s.Name) {
			return r, s.Length, nil
		}
		r, err = Decompress(s.Name, r)
		return r, -1, err
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, 0, err
	}
	size, err = stagedSize(f, s)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !Compressed(s.Name) {
		return f, size, nil
	}
	r, err = Decompress(s.Name, f)
	return r, -1, err
}

// stagedSize is the size of f, the staged file of split s, which must
// be s's Length unless that is 0.
func stagedSize(f *os.File, s Split) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if s.Length != 0 && st.Size() != s.Length {
		return 0, fmt.Errorf("%w: %s holds %d bytes of %s but the split is %d bytes: the input was not staged completely",
			ErrSplitSize, s.Path, st.Size(), s.Name, s.Length)
	}
	return st.Size(), nil
}

// inPlace reads a split of a Source. An input that ends before the split
// does was cut short while the job ran: that is an ErrSplitSize, never a
// quietly shorter split.
type inPlace struct {
	r     *io.SectionReader
	split Split
	n     int64 // bytes read so far
}

func (p *inPlace) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if err == io.EOF && p.n < p.split.Length {
		s := p.split
		err = fmt.Errorf("%w: %s ends at byte %d, inside the split [%d, %d): it changed while the task read it",
			ErrSplitSize, s.Name, s.Offset+p.n, s.Offset, s.Offset+s.Length)
	}
	return n, err
}

// Close leaves the Source open: it is not the reader's.
func (p *inPlace) Close() error { return nil }
