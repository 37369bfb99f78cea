package task

import (
	"hash/crc32"
	"io"
	"os"

	"github.com/distmr/dist/io/output"
	"github.com/distmr/dist/task/spec"
)

// sink writes one output file through an output format and describes it
// for the Result.
type sink struct {
	f    *os.File
	sum  *sumWriter
	w    output.Writer
	file spec.OutputFile
	err  error // the first failed Write; later emits are dropped
	done bool
}

// newSink creates the output file path, named name in the Result.
func newSink(path, name string, part int, format output.Format) (*sink, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	sum := &sumWriter{w: f, table: crc32.MakeTable(crc32.Castagnoli)}
	w, err := format.NewWriter(sum)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sink{f: f, sum: sum, w: w, file: spec.OutputFile{Name: name, Partition: part}}, nil
}

// emit is the Emit of a map-only task or a reduce task.
func (s *sink) emit(key, value string) {
	if s.err != nil {
		return
	}
	if s.err = s.w.Write(key, value); s.err == nil {
		s.file.Records++
	}
}

// close flushes the format writer and closes the file; an error from
// either means output was lost.
func (s *sink) close() (spec.OutputFile, error) {
	s.done = true
	err := s.err
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return spec.OutputFile{}, err
	}
	s.file.Size, s.file.CRC32C = s.sum.n, s.sum.crc
	return s.file, nil
}

// abort closes the file of a task that failed before close.
func (s *sink) abort() {
	if !s.done {
		s.done = true
		s.f.Close() // the task already failed; its output is void
	}
}

// sumWriter counts and checksums the bytes on their way to the file.
type sumWriter struct {
	w     io.Writer
	table *crc32.Table
	n     int64
	crc   uint32
}

func (s *sumWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.n += int64(n)
	s.crc = crc32.Update(s.crc, s.table, p[:n])
	return n, err
}
