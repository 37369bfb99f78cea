package artifact

import (
	"bytes"
	"debug/elf"
	"io"
	"strings"
)

// TaskMain is the function every shipped binary must call: it runs the
// task the worker prepared and writes its result.
const TaskMain = TaskPackage + ".Main"

// Decompress is the function of the task runtime that reads .gz and .zst
// inputs; a program built against an older runtime lacks it, and would
// read compressed bytes as text.
const Decompress = TaskModule + "/io/input.Decompress"

// Whether a Go program calls task.Main is read from its function table.
// The linker writes the name of every function it keeps, inlined ones
// included, NUL-terminated into .gopclntab (.data.rel.ro.gopclntab when
// relocations must be read-only): the runtime needs them for tracebacks,
// so `go build -ldflags="-s -w"`, which drops the symbol table and DWARF,
// keeps them. A plain hello-world has no task.Main there. A program that
// links task.Main but never calls it passes this check; the worker
// catches it when it exits without the mark task.Main leaves (see
// spec.StartedFile).

// scanChunk is how much of the function table is read at a time.
const scanChunk = 64 << 10

// funcTable finds the section holding a Go program's function table, or
// nil when the file has no section headers that name one. The linker
// never compresses it (only DWARF); a compressed one is ignored, since it
// could inflate to far more than the file holds.
func funcTable(ef *elf.File) *elf.Section {
	for _, s := range ef.Sections {
		if strings.HasSuffix(s.Name, ".gopclntab") && s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_COMPRESSED == 0 {
			return s
		}
	}
	return nil
}

// namesFunc reports whether the function table names fn. It reads the
// section in chunks (the file may come from anyone and claim any size:
// reading stops where the file ends) and keeps an overlap so that a name
// cut by a chunk boundary is still found.
func namesFunc(sec *elf.Section, fn string) (bool, error) {
	want := []byte("\x00" + fn + "\x00")
	r := sec.Open()
	buf := make([]byte, scanChunk+len(want))
	keep := 0
	for {
		n, err := io.ReadFull(r, buf[keep:])
		if bytes.Contains(buf[:keep+n], want) {
			return true, nil
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return false, nil
		default:
			return false, err
		}
		keep = copy(buf, buf[keep+n-len(want)+1:keep+n])
	}
}
