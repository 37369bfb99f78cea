package output

import (
	"io"

	"github.com/distmr/dist/io/named"
)

// Default is the format used when none is named.
const Default = "text"

// Writer writes records of one output file.
type Writer interface {
	// Write writes one record.
	Write(key, value string) error
	// Close flushes what is buffered; it does not close the io.Writer the
	// Writer was made with. Its error means output was lost.
	Close() error
}

// Format makes Writers of one kind of output.
type Format interface {
	NewWriter(w io.Writer) (Writer, error)
}

// Formats maps format names to formats.
type Formats map[string]Format

// Defaults returns a new map holding the standard formats: text.
func Defaults() Formats {
	return Formats{"text": Text{}}
}

// Lookup returns the format called name; the empty name means Default.
// An unknown name gives an error listing the known ones.
func (fs Formats) Lookup(name string) (Format, error) {
	return named.Lookup(fs, name, Default, ErrUnknownFormat)
}

// Names returns the names of the formats, sorted.
func (fs Formats) Names() []string { return named.Names(fs) }
