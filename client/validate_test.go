package client

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	artinfo "github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

func newEnv(t *testing.T) *testenv.Env {
	t.Helper()
	env, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env
}

func writeScript(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n# "+name+"\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func here(id string) registry.WorkerInfo {
	return registry.WorkerInfo{ID: id, Addr: id + ":1", Slots: 2, OS: runtime.GOOS, Arch: runtime.GOARCH,
		GoVersion: runtime.Version(), Version: proto.Version}
}

func TestExecProgramRefs(t *testing.T) {
	m, r := writeScript(t, "map.sh"), writeScript(t, "reduce.sh")
	cfg := Config{Kind: proto.KindExec, Mapper: m, Reducer: r, Combiner: r, Reduces: 2}
	p, err := checkProgram(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Two files: the reducer doubles as the combiner and is shipped once.
	if n := len(p.artifacts()); n != 2 {
		t.Fatalf("%d artifacts to ship, want 2", n)
	}
	main, extra := p.refs(spec.PhaseMap)
	if main.Role != proto.RoleMapper || main.Name != "map.sh" || main.Kind != proto.KindExec ||
		len(extra) != 1 || extra[0].Role != proto.RoleCombiner || extra[0].Name != "reduce.sh" {
		t.Fatalf("map refs %+v %+v", main, extra)
	}
	main, extra = p.refs(spec.PhaseReduce)
	if main.Role != proto.RoleReducer || len(extra) != 0 {
		t.Fatalf("reduce refs %+v %+v", main, extra)
	}
	// A map-only job ships only its mapper.
	cfg.Reduces = 0
	if p, err = checkProgram(cfg); err != nil || len(p.parts) != 1 {
		t.Fatalf("map-only: %v, %d parts", err, len(p.parts))
	}
	// Scripts run anywhere.
	if _, err := p.usable([]registry.WorkerInfo{{ID: "w", OS: "plan9", Arch: "mips"}}); err != nil {
		t.Fatal(err)
	}
}

func TestExecConfig(t *testing.T) {
	s := writeScript(t, "x.sh")
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Kind: proto.KindExec, Reducer: s, Reduces: 1}, "--exec needs --mapper"},
		{Config{Kind: proto.KindExec, Mapper: s, Reduces: 1}, "--exec needs --reducer"},
		{Config{Kind: proto.KindExec, Mapper: s, App: s}, "drop --app"},
		{Config{App: s, Mapper: s}, "need --exec"},
	} {
		c.cfg.Inputs, c.cfg.Output = []string{"in"}, "out"
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	ok := Config{Kind: proto.KindExec, Mapper: s, Inputs: []string{"in"}, Output: "out"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("map-only exec job: %v", err)
	}
}

func TestWorkersThatCannotRunTheProgram(t *testing.T) {
	env := newEnv(t)
	p, err := checkProgram(Config{Kind: proto.KindBinary, App: env.App(t, "wordcount")})
	if err != nil {
		t.Fatal(err)
	}
	other := here("w2")
	other.Arch = "riscv64"
	got, err := p.usable([]registry.WorkerInfo{here("w1"), other})
	if err != nil || len(got) != 1 || got[0].ID != "w1" {
		t.Fatalf("usable = %v, %v: want w1 only", got, err)
	}
	third := other
	third.ID = "w3"
	_, err = p.usable([]registry.WorkerInfo{other, third})
	want := " was built for " + runtime.GOOS + "/" + runtime.GOARCH + ", worker w2 is " + runtime.GOOS + "/riscv64: rebuild it with GOARCH=riscv64 (and 1 more worker)"
	if !errors.Is(err, ErrIncompatible) || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("usable = %v\nwant ...%s", err, want)
	}
}

func TestPluginAgainstWorkers(t *testing.T) {
	env := newEnv(t)
	plugin := env.Plugin(t, "", "./userapp/wordcount")
	if _, err := checkProgram(Config{Kind: proto.KindBinary, App: plugin}); !errors.Is(err, ErrBadApp) ||
		!strings.HasSuffix(err.Error(), "is a Go plugin: add --plugin") {
		t.Fatalf("plugin as binary: %v", err)
	}
	p, err := checkProgram(Config{Kind: proto.KindPlugin, App: plugin})
	if err != nil {
		t.Fatal(err)
	}
	info, err := artinfo.Inspect(plugin)
	if err != nil {
		t.Fatal(err)
	}
	host := here("w1")
	host.Plugin = &registry.PluginABI{GoVersion: runtime.Version(), Flags: info.Go.BuildFlags(), Hashes: info.Go.SharedHashes()}
	noPlugins := here("w2")
	noPlugins.Flags = []string{"no-plugins"}
	oldGo := here("w3")
	oldGo.Plugin = &registry.PluginABI{GoVersion: "go1.20.1", Flags: host.Plugin.Flags, Hashes: host.Plugin.Hashes}
	if got, err := p.usable([]registry.WorkerInfo{host, noPlugins, oldGo}); err != nil || len(got) != 1 || got[0].ID != "w1" {
		t.Fatalf("usable = %v, %v: want w1 only", got, err)
	}
	if _, err := p.usable([]registry.WorkerInfo{noPlugins}); err == nil || !strings.Contains(err.Error(), "worker w2 cannot host Go plugins") {
		t.Fatalf("no-plugins worker: %v", err)
	}
	if _, err := p.usable([]registry.WorkerInfo{oldGo}); err == nil ||
		!strings.Contains(err.Error(), "worker w3 runs go1.20.1: rebuild it with dist build --plugin using go1.20.1") {
		t.Fatalf("old Go worker: %v", err)
	}
}

func TestFatalLaunch(t *testing.T) {
	for _, c := range []struct {
		ev   *proto.Event
		want bool
	}{
		{nil, false},
		{&proto.Event{Error: proto.Errorf(proto.CodeVersion, "plugin built for another host")}, true},
		{&proto.Event{Error: proto.Errorf(proto.CodeUnsupported, "no plugins here")}, true},
		{&proto.Event{Error: proto.Retryablef(proto.CodeUnsupported, "built for arm64")}, false},
		{&proto.Event{Error: proto.Errorf(proto.CodeTaskFailed, "exit 1")}, false},
		{&proto.Event{Error: proto.Errorf(proto.CodeTaskFailed, "bad format"), Result: &spec.Result{Fatal: true}}, true},
	} {
		if got := fatalLaunch(c.ev); got != c.want {
			t.Errorf("fatalLaunch(%+v) = %v", c.ev, got)
		}
	}
}
