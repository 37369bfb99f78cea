package task

import (
	"bytes"
	"fmt"
	"io"

	"github.com/distmr/dist/io/recordio"
)

// source is one sorted input of a merge.
type source struct {
	rd    *recordio.Reader
	name  string         // the file, for errors
	idx   int            // position among the merge's inputs; breaks key ties
	in    *checkedReader // a reduce input, checked as it is read; nil for a run this task wrote
	key   []byte
	value []byte
	same  bool   // key is the key of the record before
	prev  []byte // the previous key
}

// advance reads the source's next record; false at its end.
func (s *source) advance() (bool, error) {
	k, v, err := s.rd.Next()
	if err == io.EOF {
		if s.in != nil {
			return false, s.in.end()
		}
		return false, nil
	}
	if err != nil {
		if s.in != nil {
			return false, s.in.fail(err)
		}
		return false, fmt.Errorf("read %s: %w", s.name, err)
	}
	s.same = s.rd.Records() > 1 && bytes.Equal(k, s.prev)
	if !s.same {
		if s.in != nil && s.rd.Records() > 1 && bytes.Compare(k, s.prev) < 0 {
			return false, s.in.fail(fmt.Errorf("%w: record %d has key %q, which sorts before the key %q ahead of it",
				ErrUnsorted, s.rd.Records()-1, clip(string(k)), clip(string(s.prev))))
		}
		s.prev = append(s.prev[:0], k...)
	}
	s.key, s.value = k, v
	return true, nil
}

// mergeStream merges sorted sources into one sorted stream with a heap.
// Records with equal keys come in source order, so a merge is stable.
type mergeStream struct {
	heap    []*source
	cur     *source // the record handed out last; advanced by the next Next
	started bool
	err     error
	n       int64 // records handed out
}

func newMerge(srcs []*source) *mergeStream {
	return &mergeStream{heap: srcs}
}

func (m *mergeStream) Next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.started = true
		m.fill()
	} else if m.cur != nil {
		ok, err := m.cur.advance()
		switch {
		case err != nil:
			m.err = err
		case ok && m.cur.same:
			// The same key again: it still sorts first, as every
			// other source at this key comes later (idx), so the heap
			// stands. Map outputs hold each key's records together,
			// so most records of a repeated key cost no comparison.
		case ok:
			m.down(0)
		default:
			last := len(m.heap) - 1
			m.heap[0], m.heap[last] = m.heap[last], nil
			m.heap = m.heap[:last]
			m.down(0)
		}
	}
	if m.err != nil || len(m.heap) == 0 {
		m.cur = nil
		return false
	}
	m.cur = m.heap[0]
	m.n++
	return true
}

// fill reads the first record of every source and builds the heap.
func (m *mergeStream) fill() {
	srcs := m.heap
	m.heap = make([]*source, 0, len(srcs))
	for _, s := range srcs {
		ok, err := s.advance()
		if err != nil {
			m.err = err
			return
		}
		if ok {
			m.heap = append(m.heap, s)
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
}

func (m *mergeStream) Key() []byte   { return m.cur.key }
func (m *mergeStream) Value() []byte { return m.cur.value }
func (m *mergeStream) Err() error    { return m.err }

func (m *mergeStream) less(i, j int) bool {
	a, b := m.heap[i], m.heap[j]
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}

// down restores the heap below i.
func (m *mergeStream) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && m.less(r, l) {
			j = r
		}
		if !m.less(j, i) {
			return
		}
		m.heap[i], m.heap[j] = m.heap[j], m.heap[i]
		i = j
	}
}
