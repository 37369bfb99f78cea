package artifact

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
)

// TaskModule is the module that provides package task, the runtime every
// shipped program links.
const TaskModule = "github.com/distmr/dist"

// TaskPackage is the package a plugin shares with every plugin host.
const TaskPackage = TaskModule + "/task"

// GoInfo describes a Go program or plugin.
type GoInfo struct {
	// Version is the Go toolchain that built it, e.g. "go1.26.8".
	Version string
	// Main is the import path of its main package.
	Main string
	// Module is the module that provided package task: the main module
	// (version "(devel)" when built inside its own repository) or a
	// dependency with its version and go.sum checksum. Zero when neither
	// is TaskModule.
	Module Module
	// Settings are the build settings as `go version -m` prints them:
	// "-buildmode", "-trimpath", "-race", "-tags", "CGO_ENABLED",
	// "GOOS", "GOARCH", "GOAMD64", ...
	Settings map[string]string
	// Hashes maps import paths to the link-time fingerprint (hex) of
	// every package the program shares with plugins: set for a Go plugin
	// and for a host that can load plugins, empty otherwise.
	Hashes map[string]string
	// FuncTable says whether Inspect found the program's function table
	// (see funcs.go), LinksTaskMain whether it names TaskMain, and
	// Decompresses whether it names Decompress. All are false for a
	// plugin, and from Self.
	FuncTable, LinksTaskMain, Decompresses bool
}

// Module is one module a Go program was built from.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Sum     string `json:"sum,omitempty"`
}

func (m Module) String() string {
	if m.Path == "" {
		return "(unknown)"
	}
	return m.Path + " " + m.Version
}

func newGoInfo(bi *debug.BuildInfo) *GoInfo {
	g := &GoInfo{Version: bi.GoVersion, Main: bi.Path, Settings: map[string]string{}}
	for _, s := range bi.Settings {
		g.Settings[s.Key] = s.Value
	}
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path != TaskModule {
			continue
		}
		if m.Replace != nil {
			m = m.Replace
		}
		g.Module = Module{Path: TaskModule, Version: m.Version, Sum: m.Sum}
		break
	}
	return g
}

// Self describes the running program from its embedded build information.
// It has no Hashes: those are only in the executable file (see Inspect).
func Self() (*GoInfo, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil, fmt.Errorf("this program has no Go build information")
	}
	return newGoInfo(bi), nil
}

// hashPrefix starts the dynamic symbol holding a package's fingerprint.
const hashPrefix = "go:link.pkghashbytes."

// packageHashes reads the go:link.pkghashbytes.<pkg> symbols the linker
// writes into plugins and plugin hosts. A file without dynamic symbols (a
// static program) has none.
func packageHashes(ef *elf.File) (map[string]string, error) {
	syms, err := dynSymbolsWithPrefix(ef, hashPrefix)
	if err != nil {
		return nil, nil // no .dynsym: nothing shared, nothing to compare
	}
	hashes := map[string]string{}
	for _, s := range syms {
		pkg := strings.TrimPrefix(s.Name, hashPrefix)
		if s.Size == 0 || s.Size > 64 || int(s.Section) >= len(ef.Sections) {
			continue
		}
		sec := ef.Sections[s.Section]
		if sec.Type == elf.SHT_NOBITS || s.Value < sec.Addr || s.Value+s.Size > sec.Addr+sec.Size {
			continue
		}
		b := make([]byte, s.Size)
		if _, err := sec.ReadAt(b, int64(s.Value-sec.Addr)); err != nil {
			return nil, fmt.Errorf("symbol %s: %w", s.Name, err)
		}
		hashes[pkg] = hex.EncodeToString(b)
	}
	return hashes, nil
}

// dynSymbolsWithPrefix returns the dynamic symbols whose names start with
// prefix, as elf.File.DynamicSymbols would, reading the symbol table and
// its strings directly: a plugin host such as dist has tens of thousands
// of dynamic symbols, and making a string of every name took most of the
// 20-40 ms a worker spent inspecting itself at start-up.
func dynSymbolsWithPrefix(ef *elf.File, prefix string) ([]elf.Symbol, error) {
	sec := ef.SectionByType(elf.SHT_DYNSYM)
	if sec == nil {
		return nil, elf.ErrNoSymbols
	}
	size := elf.Sym64Size
	if ef.Class == elf.ELFCLASS32 {
		size = elf.Sym32Size
	}
	if sec.Link == 0 || int(sec.Link) >= len(ef.Sections) {
		return nil, fmt.Errorf("dynamic symbol table links to section %d of %d", sec.Link, len(ef.Sections))
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	strs, err := ef.Sections[sec.Link].Data()
	if err != nil {
		return nil, err
	}
	bo, pre := ef.ByteOrder, []byte(prefix)
	var out []elf.Symbol
	for i := size; i+size <= len(data); i += size { // entry 0 is the null symbol
		e := data[i : i+size]
		var s elf.Symbol
		var name uint32
		if ef.Class == elf.ELFCLASS32 {
			name, s.Value, s.Size = bo.Uint32(e), uint64(bo.Uint32(e[4:])), uint64(bo.Uint32(e[8:]))
			s.Info, s.Other, s.Section = e[12], e[13], elf.SectionIndex(bo.Uint16(e[14:]))
		} else {
			name, s.Info, s.Other, s.Section = bo.Uint32(e), e[4], e[5], elf.SectionIndex(bo.Uint16(e[6:]))
			s.Value, s.Size = bo.Uint64(e[8:]), bo.Uint64(e[16:])
		}
		if uint64(name) >= uint64(len(strs)) || !bytes.HasPrefix(strs[name:], pre) {
			continue
		}
		end := bytes.IndexByte(strs[name:], 0)
		if end < 0 {
			continue
		}
		s.Name = string(strs[name : int(name)+end])
		out = append(out, s)
	}
	return out, nil
}

// shapingSettings are the build settings that change how packages compile
// and so their fingerprints: a plugin must repeat its host's.
var shapingSettings = []string{
	"-asan", "-msan", "-race", "-trimpath", "-tags", "-gcflags", "GOEXPERIMENT",
	"GO386", "GOAMD64", "GOARM", "GOARM64", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM",
}

// BuildFlags returns the settings that shape compilation, as sorted
// "key=value" strings with defaults left out: "-race=true",
// "-trimpath=true", "GOAMD64=v1". A plugin must be built with the same
// flags as its host; gobuild turns them back into go build arguments.
func (g *GoInfo) BuildFlags() []string {
	var out []string
	for _, k := range shapingSettings {
		v := g.Settings[k]
		if v == "" || v == "false" {
			continue
		}
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// SharedHashes returns the fingerprints a plugin host publishes so that
// clients can check plugins before shipping them: "runtime" (which
// changes with the toolchain and the flags) and every package outside the
// standard library. A standard package that differs for another reason
// (a build tag) is still caught by the host's own check before loading.
func (g *GoInfo) SharedHashes() map[string]string {
	out := map[string]string{}
	for pkg, h := range g.Hashes {
		if pkg == "runtime" || !isStd(pkg) && pkg != "main" {
			out[pkg] = h
		}
	}
	return out
}

// isStd reports whether an import path belongs to the standard library:
// its first element has no dot.
func isStd(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".")
}
