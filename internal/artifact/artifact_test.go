package artifact

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"plugin"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/testsupport/testenv"
	_ "github.com/distmr/dist/task" // so that this test binary shares task with plugins
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.New(); err != nil {
		panic(err)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

// The test binary links package plugin (and task), so it is a plugin host
// whenever it was built with cgo.
var _ = plugin.Open

func TestInspectStaticBinary(t *testing.T) {
	info, err := Inspect(env.App(t, "wordcount"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != Executable || info.OS != runtime.GOOS || info.Arch != runtime.GOARCH || info.Interpreter != "" {
		t.Fatalf("static wordcount: %+v", info)
	}
	g := info.Go
	if g == nil || g.Version != runtime.Version() || g.Main != TaskModule+"/userapp/wordcount" {
		t.Fatalf("go info %+v", g)
	}
	if g.Module.Path != TaskModule || g.Settings["CGO_ENABLED"] != "0" || g.Settings["-trimpath"] != "true" {
		t.Fatalf("module %v settings %v", g.Module, g.Settings)
	}
	if len(g.Hashes) != 0 {
		t.Fatalf("a static binary has no package fingerprints, got %d", len(g.Hashes))
	}
	if err := info.CheckTarget(runtime.GOOS, runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	if HostOf("worker w", info, "0.1.0").CanLoad() {
		t.Fatal("a static binary cannot load plugins")
	}
}

func TestInspectForeignBinary(t *testing.T) {
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	path := env.Build(t, "./userapp/wordcount", false, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+other)
	info, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != Executable || info.Platform() != "linux/"+other {
		t.Fatalf("cross-built wordcount: kind %s, platform %s", info.Kind, info.Platform())
	}
	err = info.CheckTarget("linux", "amd64")
	if other == "amd64" {
		err = info.CheckTarget("linux", "arm64")
	}
	want := "artifact built for linux/arm64, worker is linux/amd64: rebuild with GOARCH=amd64"
	if other == "amd64" {
		want = "artifact built for linux/amd64, worker is linux/arm64: rebuild with GOARCH=arm64"
	}
	if err == nil || err.Error() != want || !errors.Is(err, ErrPlatform) {
		t.Fatalf("CheckTarget = %v, want %q", err, want)
	}
	if err := info.CheckTarget("darwin", other); err == nil || !strings.HasSuffix(err.Error(), "rebuild with GOOS=darwin") {
		t.Fatalf("CheckTarget(darwin) = %v", err)
	}
}

func TestInspectPlugin(t *testing.T) {
	info, err := Inspect(env.Plugin(t, "", "./userapp/wordcount"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != Plugin || info.Go == nil || info.Go.Settings["-buildmode"] != "plugin" {
		t.Fatalf("plugin: %+v", info)
	}
	for _, pkg := range []string{TaskPackage, "runtime", TaskModule + "/userapp/wordcount"} {
		if len(info.Go.Hashes[pkg]) != 16 {
			t.Fatalf("no fingerprint of %s among %d: %v", pkg, len(info.Go.Hashes), info.Go.Hashes[pkg])
		}
	}
	shared := info.Go.SharedHashes()
	if _, ok := shared["fmt"]; ok || shared["runtime"] == "" || shared[TaskPackage] == "" {
		t.Fatalf("SharedHashes keeps runtime and non-standard packages only: %v", shared)
	}
}

func TestSelfIsPluginHost(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(exe)
	if err != nil {
		t.Fatal(err)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	host := HostOf("worker w", info, "0.1.0")
	if self.Settings["CGO_ENABLED"] != "1" {
		if host.CanLoad() {
			t.Fatal("a host without cgo cannot load plugins")
		}
		t.Skip("test binary built without cgo")
	}
	if !host.CanLoad() || host.Hashes[TaskPackage] == "" || host.GoVersion != runtime.Version() {
		t.Fatalf("test binary as a host: cgo %s, %d hashes", self.Settings["CGO_ENABLED"], len(host.Hashes))
	}
	if strings.Join(host.Flags, " ") != strings.Join(self.BuildFlags(), " ") {
		t.Fatalf("flags from the file %v, from the running program %v", host.Flags, self.BuildFlags())
	}
}

func TestCheckPlugin(t *testing.T) {
	info, err := Inspect(env.Plugin(t, "", "./userapp/wordcount"))
	if err != nil {
		t.Fatal(err)
	}
	match := func() Host {
		h := Host{Name: "worker w1", GoVersion: info.Go.Version, DistVersion: "0.1.0",
			Flags: info.Go.BuildFlags(), Hashes: map[string]string{}}
		for k, v := range info.Go.Hashes {
			h.Hashes[k] = v
		}
		delete(h.Hashes, TaskModule+"/userapp/wordcount") // the host has its own main
		h.Hashes["github.com/urfave/cli/v2"] = "0123456789abcdef"
		return h
	}
	if err := CheckPlugin(info, match()); err != nil {
		t.Fatalf("matching host refused: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Host)
		is     error
		want   []string
	}{
		{"no cgo", func(h *Host) { h.Hashes = nil }, ErrNoPluginHost,
			[]string{"worker w1 cannot host Go plugins", "ship a binary"}},
		{"go version", func(h *Host) { h.GoVersion = "go1.99.1" }, ErrPluginMismatch,
			[]string{"was built with " + info.Go.Version + ", worker w1 runs go1.99.1", "dist build --plugin using go1.99.1, or ship a binary"}},
		{"task", func(h *Host) { h.Hashes[TaskPackage] = "ffffffffffffffff"; h.Hashes["fmt"] = "0000000000000000" }, ErrPluginMismatch,
			[]string{"different version of package " + TaskPackage + " than worker w1", "host ffffffff", "against dist 0.1.0"}},
		{"flags", func(h *Host) { h.Flags = append(h.Flags, "-race=true"); h.Hashes["runtime"] = "0000000000000000" }, ErrPluginMismatch,
			[]string{"other flags than worker w1 (-race: plugin unset, host true)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := match()
			c.change(&h)
			err := CheckPlugin(info, h)
			if err == nil || !errors.Is(err, c.is) {
				t.Fatalf("CheckPlugin = %v, want %v", err, c.is)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
	// A binary is not a plugin.
	bin, err := Inspect(env.App(t, "wordcount"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPlugin(bin, match()); err == nil || !strings.Contains(err.Error(), "is not a Go plugin") {
		t.Fatalf("binary as plugin: %v", err)
	}
}

func TestNotELF(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
	}{
		{"random", "\x13\x37\xbe\xef\x00\x01\x02\x03", "it starts with bytes 13 37 be ef"},
		{"empty", "", "the file is empty"},
		{"text", "hello\nworld\n", "text without a #! line"},
		{"macho", "\xcf\xfa\xed\xfe\x07\x00\x00\x01", "macOS"},
		{"windows", "MZ\x90\x00", "Windows"},
		{"short-elf", "\x7fELF\x02\x01", "ELF header is corrupt"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Inspect(path)
		if !errors.Is(err, ErrNotELF) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "not an ELF file") {
			t.Errorf("%s: %v, want ErrNotELF saying %q", c.name, err, c.want)
		}
	}
	if _, err := Inspect(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestInspectScript(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh -e\r\nexec awk '{print}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != Script || info.Interpreter != "/bin/sh" || info.Go != nil || info.Platform() != "" {
		t.Fatalf("script: %+v", info)
	}
	if err := info.CheckTarget("linux", "riscv64"); err != nil {
		t.Fatalf("a script runs anywhere: %v", err)
	}
}

func TestInspectSystemProgram(t *testing.T) {
	// A C program from the system: dynamic, no Go build information.
	info, err := Inspect("/bin/sh")
	if err != nil {
		t.Skip(err)
	}
	if info.Kind != Executable || info.Go != nil || info.Interpreter == "" || info.Platform() != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("/bin/sh: %+v", info)
	}
}

func TestBuildFlags(t *testing.T) {
	g := &GoInfo{Settings: map[string]string{
		"-race": "true", "-trimpath": "false", "GOAMD64": "v3", "-ldflags": "-s -w", "CGO_ENABLED": "1", "-tags": "netgo",
	}}
	if got := strings.Join(g.BuildFlags(), " "); got != "-race=true -tags=netgo GOAMD64=v3" {
		t.Fatalf("BuildFlags = %q", got)
	}
}

// dynSymbolsWithPrefix reads the same symbols as elf.File.DynamicSymbols,
// all of them with an empty prefix, from a plugin host (this test binary)
// and a plugin.
func TestDynSymbolsWithPrefix(t *testing.T) {
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if self.Settings["CGO_ENABLED"] != "1" {
		t.Skip("test binary built without cgo: it exports no dynamic symbols")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{exe, env.Plugin(t, "", "./userapp/wordcount")} {
		ef, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		all, err := ef.DynamicSymbols()
		if err != nil {
			ef.Close()
			t.Fatalf("%s: %v", path, err)
		}
		for _, prefix := range []string{"", hashPrefix, "runtime."} {
			got, err := dynSymbolsWithPrefix(ef, prefix)
			if err != nil {
				t.Fatal(err)
			}
			var want []elf.Symbol
			for _, s := range all {
				if strings.HasPrefix(s.Name, prefix) {
					s.Version, s.Library = "", ""
					want = append(want, s)
				}
			}
			if len(want) == 0 || !slices.EqualFunc(got, want, func(a, b elf.Symbol) bool {
				return a.Name == b.Name && a.Value == b.Value && a.Size == b.Size && a.Section == b.Section &&
					a.Info == b.Info && a.Other == b.Other
			}) {
				t.Fatalf("%s, prefix %q: %d symbols, DynamicSymbols has %d", filepath.Base(path), prefix, len(got), len(want))
			}
		}
		ef.Close()
	}
}
