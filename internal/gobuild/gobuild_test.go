package gobuild

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/internal/testsupport/testenv"
)

func TestArgs(t *testing.T) {
	args, env := Args(Options{Package: "./app", Output: "app"})
	if strings.Join(args, " ") != "build -o app -trimpath ./app" || !slices.Equal(env, []string{"CGO_ENABLED=0"}) {
		t.Fatalf("binary: %q %q", args, env)
	}
	host := Host{GoVersion: "go1.26.8", Flags: []string{"-race=true", "-tags=netgo", "-trimpath=true", "GOAMD64=v3"}, OS: "linux", Arch: "amd64"}
	args, env = Args(Options{Package: "./app", Output: "app.so", Plugin: true, Host: host})
	if strings.Join(args, " ") != "build -o app.so -buildmode=plugin -race -tags=netgo -trimpath ./app" {
		t.Fatalf("plugin args %q", args)
	}
	if strings.Join(env, " ") != "CGO_ENABLED=1 GOAMD64=v3 GOOS=linux GOARCH=amd64" {
		t.Fatalf("plugin env %q", env)
	}
}

func root(t *testing.T) string {
	env, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env.Root()
}

func TestBuildBinary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "wc")
	res, err := Build(context.Background(), Options{Package: "./userapp/wordcount", Output: out, Dir: root(t), Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Info.Kind != artifact.Executable || res.Info.Interpreter != "" || len(res.SHA256) != 64 || res.Size == 0 {
		t.Fatalf("built %+v", res)
	}
}

func TestBuildPluginMatchesHost(t *testing.T) {
	host, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "wc.so")
	res, err := Build(context.Background(), Options{Package: "./userapp/wordcount", Output: out, Plugin: true, Host: host, Dir: root(t), Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Info.Kind != artifact.Plugin || !slices.Equal(res.Info.Go.BuildFlags(), host.Flags) {
		t.Fatalf("plugin flags %v, host %v", res.Info.Go.BuildFlags(), host.Flags)
	}
	if res.Info.Platform() != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("platform %s", res.Info.Platform())
	}
}

func TestWrongToolchain(t *testing.T) {
	host := Host{GoVersion: "go1.0.1"}
	out := filepath.Join(t.TempDir(), "x.so")
	_, err := Build(context.Background(), Options{Package: "./userapp/wordcount", Output: out,
		Plugin: true, Host: host, Dir: root(t), Stderr: io.Discard})
	if !errors.Is(err, ErrToolchain) || !strings.Contains(err.Error(), "GOTOOLCHAIN=go1.0.1") ||
		!strings.Contains(err.Error(), "go is "+runtime.Version()) {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("built anyway")
	}
}
