package input

import "bytes"

// KV reads key<TAB>value lines, splitting at the first tab. A line
// without a tab is a key with an empty value. Line endings are handled as
// in Text.
type KV struct {
	// MaxLine bounds the length of one line; zero means DefaultMaxLine.
	MaxLine int
}

var _ Format = KV{}

// Open implements Format.
func (k KV) Open(s Split) (Reader, error) {
	l, err := openLines(s, k.MaxLine)
	if err != nil {
		return nil, err
	}
	return &kvReader{l}, nil
}

type kvReader struct{ *lines }

func (r *kvReader) Next() (key, value string, err error) {
	line, _, err := r.next()
	if err != nil {
		return "", "", err
	}
	k, v, _ := bytes.Cut(line, []byte("\t"))
	return string(k), string(v), nil
}
