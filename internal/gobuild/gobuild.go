// Package gobuild runs `go build` the way dist artifacts must be built:
// binaries static and reproducible (CGO_ENABLED=0 -trimpath), plugins with
// cgo and exactly the toolchain and the compilation flags of the plugin
// host that will load them (see package artifact for why).
package gobuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/distmr/dist/internal/artifact"
)

// Host is the plugin host a build must match: what `dist version --json`
// reports about a dist binary.
type Host struct {
	// GoVersion is the toolchain that built the host, e.g. "go1.26.8".
	GoVersion string `json:"go"`
	// Flags are its artifact.GoInfo.BuildFlags.
	Flags []string `json:"build_flags"`
	// OS and Arch are its GOOS and GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// Self describes the running program as a Host.
func Self() (Host, error) {
	g, err := artifact.Self()
	if err != nil {
		return Host{}, err
	}
	return Host{GoVersion: g.Version, Flags: g.BuildFlags(), OS: g.Settings["GOOS"], Arch: g.Settings["GOARCH"]}, nil
}

// Options describe one build. Zero values are documented per field.
type Options struct {
	// Package is what to build: an import path, or a directory (relative
	// to Dir), which is built in place with its own module (see InDir).
	// Required.
	Package string
	// Output is the file to write. Required.
	Output string
	// Plugin builds a Go plugin (-buildmode=plugin) for Host; false builds
	// a static binary.
	Plugin bool
	// Host is the plugin host to match. Its OS and Arch, when set, are the
	// target of a binary too; empty means GOOS and GOARCH from the
	// environment.
	Host Host
	// Dir is where go build runs; "" means the current directory.
	Dir string
	// Go is the go command; "" means "go" from PATH.
	Go string
	// Env is the environment; nil means os.Environ().
	Env []string
	// Stderr receives go build's output; nil means os.Stderr.
	Stderr io.Writer
}

// Result describes a built artifact.
type Result struct {
	Info   *artifact.Info
	SHA256 string
	Size   int64
}

// ErrToolchain marks a go command of another version than the host's.
var ErrToolchain = errors.New("wrong Go toolchain")

// Args returns the go build arguments and the environment entries (added
// to Options.Env) for o.
func Args(o Options) (args, env []string) {
	args = []string{"build", "-o", o.Output}
	if !o.Plugin {
		args = append(args, "-trimpath")
		env = append(env, "CGO_ENABLED=0")
	} else {
		args = append(args, "-buildmode=plugin")
		env = append(env, "CGO_ENABLED=1")
		for _, f := range o.Host.Flags {
			k, v, _ := strings.Cut(f, "=")
			switch {
			case strings.HasPrefix(k, "-") && v == "true":
				args = append(args, k) // -race, -msan, -asan, -trimpath
			case strings.HasPrefix(k, "-"):
				args = append(args, k+"="+v) // -tags, -gcflags
			default:
				env = append(env, k+"="+v) // GOAMD64, GOEXPERIMENT, ...
			}
		}
	}
	if o.Host.OS != "" && o.Host.Arch != "" {
		env = append(env, "GOOS="+o.Host.OS, "GOARCH="+o.Host.Arch)
	}
	return append(args, o.Package), env
}

// InDir returns o set to build a directory in place: when o.Package names
// a directory (relative to o.Dir), go build runs in it on ".", so that the
// directory's own module is the main module (an app that dist new made
// outside this repository builds as well as ./userapp/wordcount), and
// Output is made absolute so that it still names the same file. Any other
// package leaves o unchanged.
func InDir(o Options) (Options, error) {
	pkg := o.Package
	if !filepath.IsAbs(pkg) {
		pkg = filepath.Join(o.Dir, pkg)
	}
	if fi, err := os.Stat(pkg); err != nil || !fi.IsDir() {
		return o, nil
	}
	out := o.Output
	if !filepath.IsAbs(out) {
		out = filepath.Join(o.Dir, out)
	}
	var err error
	if o.Output, err = filepath.Abs(out); err != nil {
		return o, err
	}
	if o.Dir, err = filepath.Abs(pkg); err != nil {
		return o, err
	}
	o.Package = "."
	return o, nil
}

// Build runs go build for o and describes what it built. For a plugin it
// first checks that the go command is the host's toolchain.
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.Package == "" || o.Output == "" {
		return nil, fmt.Errorf("gobuild: a package and an output file are required")
	}
	o, err := InDir(o)
	if err != nil {
		return nil, err
	}
	goCmd := o.Go
	if goCmd == "" {
		goCmd = "go"
	}
	args, extra := Args(o)
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(env, extra...)
	stderr := o.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	if o.Plugin {
		if err := checkToolchain(ctx, goCmd, o.Dir, env, o.Host.GoVersion); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = o.Dir, env, stderr, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return describe(o.Output)
}

func checkToolchain(ctx context.Context, goCmd, dir string, env []string, want string) error {
	if want == "" {
		return nil
	}
	cmd := exec.CommandContext(ctx, goCmd, "env", "GOVERSION")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go env GOVERSION: %w", err)
	}
	have := string(bytes.TrimSpace(out))
	if have != want {
		return fmt.Errorf("%w: go is %s but the workers' dist was built with %s: a plugin must be built by the same toolchain: install %s, or run with GOTOOLCHAIN=%s",
			ErrToolchain, have, want, want, want)
	}
	return nil
}

// describe inspects and hashes a built artifact.
func describe(path string) (*Result, error) {
	info, err := artifact.Inspect(path)
	if err != nil {
		return nil, err
	}
	sum, size, err := artifact.Hash(path)
	if err != nil {
		return nil, err
	}
	return &Result{Info: info, SHA256: sum, Size: size}, nil
}
