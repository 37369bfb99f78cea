package artifact

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// Kind says what sort of file an artifact is.
type Kind string

const (
	Executable Kind = "executable" // an ELF program (static, dynamic or PIE)
	Plugin     Kind = "plugin"     // a Go plugin (go build -buildmode=plugin)
	Shared     Kind = "shared"     // any other ELF shared object
	Object     Kind = "object"     // an ELF file that is not a program: relocatable object, core dump
	Script     Kind = "script"     // a text file starting with "#!"
)

// Info describes an inspected file.
type Info struct {
	// Path is the file as given to Inspect.
	Path string
	Kind Kind
	// OS and Arch are the GOOS and GOARCH the file runs on, from the Go
	// build settings when it is a Go program, else from its ELF header.
	// Both are empty for a script.
	OS, Arch string
	// Interpreter is a script's "#!" program, or an ELF program's dynamic
	// loader (PT_INTERP); empty for a static program.
	Interpreter string
	// Go describes a Go program or plugin; nil for anything else.
	Go *GoInfo
}

// Platform returns "OS/Arch", or "" for a script.
func (i *Info) Platform() string {
	if i.OS == "" && i.Arch == "" {
		return ""
	}
	return i.OS + "/" + i.Arch
}

// maxShebang bounds the "#!" line read from a script.
const maxShebang = 256

// Inspect reads what path is. It returns an error wrapping ErrNotELF for
// a file that is neither ELF nor a script, naming what it looks like
// instead, and the os error for a file it cannot read. The file may come
// from anyone (a worker inspects what clients upload): a parser panic is
// reported as a corrupt file, never passed on.
func Inspect(path string) (info *Info, err error) {
	defer func() {
		if v := recover(); v != nil {
			info, err = nil, fmt.Errorf("%s: %w: its ELF data is corrupt (%v)", path, ErrNotELF, v)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() // read only
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	head = head[:n]
	if bytes.HasPrefix(head, []byte("#!")) {
		return inspectScript(path, f)
	}
	if string(head) != elf.ELFMAG {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotELF, looksLike(f, head))
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: its ELF header is corrupt: %v", path, ErrNotELF, err)
	}
	defer ef.Close()
	return inspectELF(path, f, ef)
}

func inspectScript(path string, f *os.File) (*Info, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	line, err := bufio.NewReaderSize(io.LimitReader(f, maxShebang), maxShebang).ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, err
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	info := &Info{Path: path, Kind: Script}
	if len(fields) > 0 {
		info.Interpreter = fields[0]
	}
	return info, nil
}

func inspectELF(path string, f *os.File, ef *elf.File) (*Info, error) {
	info := &Info{Path: path}
	info.OS, info.Arch = elfPlatform(ef)
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
			if err == nil {
				info.Interpreter = strings.TrimRight(string(b), "\x00")
			}
		}
	}
	switch ef.Type {
	case elf.ET_EXEC:
		info.Kind = Executable
	case elf.ET_DYN:
		info.Kind = Shared
		if info.Interpreter != "" { // a position-independent executable
			info.Kind = Executable
		}
	default:
		info.Kind = Object
	}
	if bi, err := buildinfo.Read(f); err == nil {
		g := newGoInfo(bi)
		if mode := g.Settings["-buildmode"]; mode == "plugin" {
			info.Kind = Plugin
		} else if info.Kind != Object && (mode == "exe" || mode == "pie") {
			info.Kind = Executable
		}
		if goos, goarch := g.Settings["GOOS"], g.Settings["GOARCH"]; goos != "" && goarch != "" {
			info.OS, info.Arch = goos, goarch
		}
		g.Hashes, err = packageHashes(ef)
		if err != nil {
			return nil, fmt.Errorf("%s: read package hashes: %w", path, err)
		}
		if sec := funcTable(ef); sec != nil && info.Kind == Executable {
			g.FuncTable = true
			if g.LinksTaskMain, err = namesFunc(sec, TaskMain); err != nil {
				return nil, fmt.Errorf("%s: read function names: %w", path, err)
			}
			if g.Decompresses, err = namesFunc(sec, Decompress); err != nil {
				return nil, fmt.Errorf("%s: read function names: %w", path, err)
			}
		}
		info.Go = g
	}
	return info, nil
}

// looksLike names what a file that is not ELF seems to be, for messages.
func looksLike(r io.ReaderAt, head []byte) string {
	switch {
	case len(head) == 0:
		return "the file is empty"
	case bytes.HasPrefix(head, []byte("MZ")):
		return "it looks like a Windows program"
	case bytes.HasPrefix(head, []byte{0xcf, 0xfa, 0xed, 0xfe}), bytes.HasPrefix(head, []byte{0xce, 0xfa, 0xed, 0xfe}),
		bytes.HasPrefix(head, []byte{0xca, 0xfe, 0xba, 0xbe}):
		return "it looks like a macOS (Mach-O) program"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "it looks like a zip archive"
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "it looks like a gzip file"
	case bytes.HasPrefix(head, []byte("!<ar")):
		return "it looks like an ar archive"
	}
	b := make([]byte, 512)
	n, _ := r.ReadAt(b, 0)
	if isText(b[:n]) {
		return "it is text without a #! line"
	}
	return fmt.Sprintf("it starts with bytes % x", head)
}

// isText reports whether b looks like text: valid UTF-8, no NULs or
// control characters other than whitespace.
func isText(b []byte) bool {
	for i, r := range string(b) {
		switch {
		case r == utf8.RuneError && i+utf8.UTFMax < len(b):
			return false // invalid UTF-8, unless cut short at the end
		case r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f':
			return false
		}
	}
	return true
}
