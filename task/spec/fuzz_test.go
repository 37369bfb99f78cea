package spec

import (
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecodeConfig feeds arbitrary bytes to the task config decoder (what
// a task program reads from task.msgpack): it must fail with ErrBadConfig
// or return a config that passes Validate, and never panic or allocate out
// of proportion to its input.
func FuzzDecodeConfig(f *testing.F) {
	for _, c := range []Config{
		{Job: "j", Task: "m-00000", Phase: PhaseMap, Reduces: 2, Split: Split{File: SplitFile, Name: "a.txt", Length: 10},
			Params: map[string]string{"pattern": "x"}},
		{Job: "j", Task: "m-00001", Phase: PhaseMap, Index: 1, Split: Split{Tasks: 2}},
		{Job: "j", Task: "r-00001", Phase: PhaseReduce, Index: 1, Reduces: 2, Inputs: []Input{{File: "in/m-00000-0", Map: "m-00000", Size: 10, CRC32C: 7}}},
	} {
		b, err := msgpack.Marshal(&c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x81\xa6params\xdf\x7f\xff\xff\x00"))
	f.Add([]byte("\x81\xaapartitions\xdd\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeConfig(b)
		if err != nil {
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("DecodeConfig error %v does not wrap ErrBadConfig", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("DecodeConfig returned a config Validate refuses: %v", err)
		}
	})
}
