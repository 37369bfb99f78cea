package input

import "strconv"

// Text reads lines: the key is the decimal byte offset of the line in the
// original file (the split's Offset plus the line's position in the
// split; for a .gz or .zst input, in the decompressed stream), the value
// the line without "\n" or "\r\n".
type Text struct {
	// MaxLine bounds the length of one line; zero means DefaultMaxLine.
	MaxLine int
}

var _ Format = Text{}

// Open implements Format.
func (t Text) Open(s Split) (Reader, error) {
	l, err := openLines(s, t.MaxLine)
	if err != nil {
		return nil, err
	}
	return &textReader{l}, nil
}

type textReader struct{ *lines }

func (r *textReader) Next() (key, value string, err error) {
	line, start, err := r.next()
	if err != nil {
		return "", "", err
	}
	return strconv.FormatInt(r.split.Offset+start, 10), string(line), nil
}
