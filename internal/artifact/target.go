package artifact

import (
	"debug/elf"
	"fmt"
	"strings"
)

// elfPlatform names the GOOS and GOARCH an ELF file runs on from its
// header alone. An unknown machine is named "elf-machine-N".
func elfPlatform(ef *elf.File) (goos, goarch string) {
	le := ef.ByteOrder.String() == "LittleEndian"
	is64 := ef.Class == elf.ELFCLASS64
	switch ef.Machine {
	case elf.EM_X86_64:
		goarch = "amd64"
	case elf.EM_386:
		goarch = "386"
	case elf.EM_AARCH64:
		goarch = "arm64"
	case elf.EM_ARM:
		goarch = "arm"
	case elf.EM_RISCV:
		goarch = "riscv64"
		if !is64 {
			goarch = "riscv"
		}
	case elf.EM_PPC64:
		goarch = "ppc64"
		if le {
			goarch = "ppc64le"
		}
	case elf.EM_S390:
		goarch = "s390x"
	case elf.EM_LOONGARCH:
		goarch = "loong64"
	case elf.EM_MIPS:
		goarch = "mips"
		if is64 {
			goarch = "mips64"
		}
		if le {
			goarch += "le"
		}
	default:
		goarch = fmt.Sprintf("elf-machine-%d", int(ef.Machine))
	}
	switch ef.OSABI {
	case elf.ELFOSABI_FREEBSD:
		goos = "freebsd"
	case elf.ELFOSABI_NETBSD:
		goos = "netbsd"
	case elf.ELFOSABI_OPENBSD:
		goos = "openbsd"
	case elf.ELFOSABI_SOLARIS:
		goos = "solaris"
	default: // ELFOSABI_NONE or ELFOSABI_LINUX; the BSDs may mark themselves with a note
		goos = "linux"
		for _, s := range ef.Sections {
			switch s.Name {
			case ".note.netbsd.ident":
				goos = "netbsd"
			case ".note.openbsd.ident":
				goos = "openbsd"
			}
		}
	}
	return goos, goarch
}

// CheckTarget reports whether the file can run on a goos/goarch machine.
// A script runs anywhere its interpreter exists, so it always passes. The
// error wraps ErrPlatform and reads like
//
//	artifact built for linux/arm64, worker is linux/amd64: rebuild with GOARCH=amd64
func (i *Info) CheckTarget(goos, goarch string) error {
	if i.Kind == Script || goos == "" || goarch == "" {
		return nil
	}
	if i.OS == goos && i.Arch == goarch {
		return nil
	}
	var fix []string
	if i.OS != goos {
		fix = append(fix, "GOOS="+goos)
	}
	if i.Arch != goarch {
		fix = append(fix, "GOARCH="+goarch)
	}
	return &PlatformError{Built: i.Platform(), Target: goos + "/" + goarch, Fix: strings.Join(fix, " ")}
}

// PlatformError says a program was built for another platform.
type PlatformError struct {
	Built  string // "linux/arm64"
	Target string // "linux/amd64"
	Fix    string // "GOARCH=amd64"
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("artifact built for %s, worker is %s: rebuild with %s", e.Built, e.Target, e.Fix)
}

func (e *PlatformError) Unwrap() error { return ErrPlatform }
