package output

import (
	"fmt"
	"io"
	"slices"
	"strings"
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
	if name == "" {
		name = Default
	}
	if f := fs[name]; f != nil {
		return f, nil
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownFormat, name, strings.Join(fs.Names(), ", "))
}

// Names returns the names of the formats, sorted.
func (fs Formats) Names() []string {
	names := make([]string, 0, len(fs))
	for name, f := range fs {
		if f != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
