package task

// stream is a sequence of records sorted by key: the sort buffer, or a
// merge of sorted files. Key and Value are valid until the next Next.
type stream interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
}

// eachGroup calls fn once per distinct key of s, in order, with an
// iterator over that key's values that reads them from s as it goes.
// Values fn leaves unread are skipped; the iterator yields nothing once fn
// has returned. A read error of s wins over fn's error: it is the cause.
func eachGroup(s stream, fn func(key string, values Values) error) error {
	g := &grouper{s: s}
	g.more = s.Next()
	for g.more {
		key := string(s.Key())
		err := fn(key, g.values(key))
		g.skip(key)
		if serr := s.Err(); serr != nil {
			return serr
		}
		if err != nil {
			return err
		}
	}
	return s.Err()
}

// grouper tracks the position of a stream walked one key at a time. The
// stream always sits on the next record not yet handed out.
type grouper struct {
	s    stream
	more bool   // s sits on a record
	gen  uint64 // bumped when a group ends, retiring its iterator
}

// values iterates the rest of key's group.
func (g *grouper) values(key string) Values {
	gen := g.gen
	return func(yield func(string) bool) {
		for g.gen == gen && g.more && string(g.s.Key()) == key {
			v := string(g.s.Value())
			g.more = g.s.Next()
			if !yield(v) {
				return
			}
		}
	}
}

// skip moves past what is left of key's group and retires its iterator.
func (g *grouper) skip(key string) {
	for g.more && string(g.s.Key()) == key {
		g.more = g.s.Next()
	}
	g.gen++
}
