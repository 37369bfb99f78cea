package artifact

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// buildHello builds a plain Go hello-world, in a module of its own, with
// extra go build flags.
func buildHello(t *testing.T, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module hello\n\ngo 1.24\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return goBuild(t, dir, ".", flags...)
}

// goBuild runs a static go build of pkg in dir with extra flags.
func goBuild(t *testing.T, dir, pkg string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "prog")
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), pkg)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// TestInspectTaskMain tells programs that link task.Main from those that
// do not, stripped or not.
func TestInspectTaskMain(t *testing.T) {
	stripped := goBuild(t, env.Root(), "./userapp/wordcount", "-trimpath", "-ldflags=-s -w")
	cases := []struct {
		name  string
		path  string
		links bool
	}{
		{"wordcount", env.App(t, "wordcount"), true},
		{"wordcount -s -w", stripped, true},
		{"hello", buildHello(t), false},
		{"hello -s -w", buildHello(t, "-ldflags=-s -w"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := Inspect(c.path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Go == nil || !info.Go.FuncTable || info.Go.LinksTaskMain != c.links {
				t.Fatalf("Go info %+v, want a function table and LinksTaskMain %v", info.Go, c.links)
			}
		})
	}
	if ef, err := elf.Open(stripped); err != nil || ef.Section(".symtab") != nil {
		t.Fatalf("-s -w left a symbol table (%v)", err)
	}
	plugin, err := Inspect(env.Plugin(t, "", "./userapp/wordcount"))
	if err != nil || plugin.Go.FuncTable || plugin.Go.LinksTaskMain {
		t.Fatalf("a plugin is not checked for task.Main: %+v, %v", plugin.Go, err)
	}
}

// TestNamesFuncAcrossChunks finds a name cut by a chunk boundary, and
// only whole names.
func TestNamesFuncAcrossChunks(t *testing.T) {
	name := "\x00" + TaskMain + "\x00"
	for _, at := range []int{0, 1, scanChunk - len(name)/2, scanChunk - 1, scanChunk, 3*scanChunk + 5} {
		data := make([]byte, 4*scanChunk)
		copy(data[at:], name)
		if !scanBytes(t, data, TaskMain) {
			t.Errorf("name at %d not found", at)
		}
	}
	data := []byte("\x00" + TaskMain + ".func1\x00x" + TaskMain + "\x00")
	if scanBytes(t, data, TaskMain) {
		t.Error("found a closure of task.Main or a longer name as task.Main")
	}
}

// scanBytes runs namesFunc over data as the only section of an ELF file.
func scanBytes(t *testing.T, data []byte, fn string) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "elf")
	if err := os.WriteFile(path, elfWithSection(".gopclntab", data), 0o644); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	sec := funcTable(ef)
	if sec == nil {
		t.Fatal("no function table found")
	}
	found, err := namesFunc(sec, fn)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// elfWithSection makes a minimal 64-bit little-endian ELF file with one
// section called name holding data (plus the section name table).
func elfWithSection(name string, data []byte) []byte {
	shstr := "\x00" + name + "\x00.shstrtab\x00"
	const ehsize, shentsize = 64, 64
	dataOff := ehsize
	strOff := dataOff + len(data)
	shOff := (strOff + len(shstr) + 7) &^ 7
	b := make([]byte, shOff+3*shentsize)
	copy(b, "\x7fELF\x02\x01\x01")
	le16 := func(off int, v int) { b[off], b[off+1] = byte(v), byte(v>>8) }
	le64 := func(off int, v int) {
		for i := range 8 {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	le16(16, int(elf.ET_EXEC))
	le16(18, int(elf.EM_X86_64))
	b[20] = 1 // version
	le64(40, shOff)
	le16(52, ehsize)
	le16(58, shentsize)
	le16(60, 3) // sections: null, name, .shstrtab
	le16(62, 2) // .shstrtab index
	copy(b[dataOff:], data)
	copy(b[strOff:], shstr)
	section := func(i, nameOff int, typ elf.SectionType, off, size int) {
		h := shOff + i*shentsize
		b[h], b[h+1], b[h+2], b[h+3] = byte(nameOff), byte(nameOff>>8), 0, 0
		b[h+4] = byte(typ)
		le64(h+24, off)
		le64(h+32, size)
		le64(h+48, 1) // alignment
	}
	section(1, 1, elf.SHT_PROGBITS, dataOff, len(data))
	section(2, 1+len(name)+1, elf.SHT_STRTAB, strOff, len(shstr))
	return b
}
