package client

import (
	"errors"
	"fmt"
	"os"
	"strings"

	artinfo "github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Artifacts are checked twice before anything is shipped. Prepare checks
// each file alone: it exists and is executable, and it is what its flag
// says (a Go program that links task.Main for --app, a Go plugin for --app
// with --plugin, an ELF program or a #! script for --mapper, --reducer and
// --combiner). Then every worker the registry names is checked against
// it: its OS and architecture, and for a plugin whether the worker's
// plugin host can load it (package internal/artifact compares the Go
// version, the build flags and the package fingerprints the worker
// publishes). Workers that cannot run the job are left out; when none
// can, the job fails before the first upload with one line naming a
// worker, the difference and the fix.

// program is what a job ships: the binary or plugin, or the commands of
// an exec job.
type program struct {
	kind  string
	parts []part
	files []*artifact // side files (files.go)
}

// part is one file of a program.
type part struct {
	art  *artifact
	role string        // exec jobs: proto.RoleMapper, RoleReducer, RoleCombiner
	info *artinfo.Info // what the file is
}

// checkProgram checks and hashes the files cfg names.
func checkProgram(cfg Config) (p *program, err error) {
	p = &program{kind: cfg.Kind}
	if p.files, err = checkFiles(cfg.Files); err != nil {
		return nil, err
	}
	if cfg.Kind != proto.KindExec {
		pt, err := checkPart("--app", cfg.App, cfg.Kind, "")
		if err != nil {
			return nil, err
		}
		p.parts = []part{pt}
		return p, nil
	}
	for _, c := range []struct{ role, path string }{
		{proto.RoleMapper, cfg.Mapper}, {proto.RoleReducer, cfg.Reducer}, {proto.RoleCombiner, cfg.Combiner},
	} {
		if c.path == "" || c.role != proto.RoleMapper && cfg.Reduces == 0 {
			continue // a map-only job runs no reducer or combiner
		}
		pt, err := checkPart("--"+c.role, c.path, proto.KindExec, c.role)
		if err != nil {
			return nil, err
		}
		p.parts = append(p.parts, pt)
	}
	return p, nil
}

// checkPart checks one file given as flag and hashes it.
func checkPart(flag, path, kind, role string) (part, error) {
	st, err := os.Stat(path)
	if err != nil {
		return part{}, fmt.Errorf("%w: %s %s: %v", ErrNoApp, flag, path, errors.Unwrap(err))
	}
	if !st.Mode().IsRegular() {
		return part{}, fmt.Errorf("%w: %s %s is not a regular file", ErrNoApp, flag, path)
	}
	info, err := artinfo.Inspect(path)
	if err != nil {
		if errors.Is(err, artinfo.ErrNotELF) {
			what := strings.TrimPrefix(err.Error(), path+": ")
			if kind == proto.KindExec {
				return part{}, badApp("%s %s is not an ELF program or a #! script: %s", flag, path, what)
			}
			return part{}, badApp("%s %s is %s: ship a program built with dist build", flag, path, what)
		}
		return part{}, fmt.Errorf("%w: %s %s: %v", ErrNoApp, flag, path, err)
	}
	if err := checkKind(flag, path, kind, info); err != nil {
		return part{}, err
	}
	if st.Mode()&0o111 == 0 && kind != proto.KindPlugin {
		return part{}, badApp("%s %s is not executable: chmod +x it", flag, path)
	}
	art, err := hashArtifact(path, kind)
	if err != nil {
		return part{}, err
	}
	return part{art: art, role: role, info: info}, nil
}

// callTaskMain says how to fix a program that does not call task.Main.
const callTaskMain = `build it from a main package that calls task.Main(task.App{...}) (see README "Writing an app")`

// checkKind refuses a file that is not what its flag says.
func checkKind(flag, path, kind string, info *artinfo.Info) error {
	switch kind {
	case proto.KindBinary:
		switch {
		case info.Kind == artinfo.Plugin:
			return badApp("%s %s is a Go plugin: add --plugin", flag, path)
		case info.Kind == artinfo.Script:
			return badApp("%s %s is a script, not a compiled app: run scripts with --exec --mapper %s", flag, path, path)
		case info.Kind != artinfo.Executable:
			return badApp("%s %s is an ELF %s file, not a program: build the app with dist build", flag, path, info.Kind)
		case info.Go == nil:
			return badApp("%s %s is not a Go program: build an app that calls task.Main with dist build, or run it with --exec", flag, path)
		case info.Go.FuncTable && !info.Go.LinksTaskMain:
			return badApp("%s %s does not call task.Main: %s", flag, path, callTaskMain)
		}
	case proto.KindPlugin:
		switch info.Kind {
		case artinfo.Plugin:
		case artinfo.Executable:
			return badApp("%s %s is an executable, not a plugin: drop --plugin", flag, path)
		default:
			return badApp("%s %s is not a Go plugin: build it with dist build --plugin", flag, path)
		}
	case proto.KindExec:
		if info.Kind != artinfo.Executable && info.Kind != artinfo.Script {
			return badApp("%s %s is an ELF %s file, not a program or a script", flag, path, info.Kind)
		}
	}
	return nil
}

// artifacts lists the files to ship, each once: the program's, then the
// side files.
func (p *program) artifacts() []*artifact {
	var out []*artifact
	seen := map[string]bool{}
	add := func(a *artifact) {
		if !seen[a.SHA256] {
			seen[a.SHA256] = true
			out = append(out, a)
		}
	}
	for _, pt := range p.parts {
		add(pt.art)
	}
	for _, f := range p.files {
		add(f)
	}
	return out
}

// refs names what an attempt of phase runs: the binary or plugin, or an
// exec job's mapper (with its combiner) or reducer.
func (p *program) refs(phase spec.Phase) (proto.ArtifactRef, []proto.ArtifactRef) {
	ref := func(pt part) proto.ArtifactRef {
		return proto.ArtifactRef{SHA256: pt.art.SHA256, Kind: p.kind, Name: pt.art.Name, Role: pt.role}
	}
	if p.kind != proto.KindExec {
		return ref(p.parts[0]), nil
	}
	var main proto.ArtifactRef
	var extra []proto.ArtifactRef
	for _, pt := range p.parts {
		switch {
		case phase.ReadsSplit() && pt.role == proto.RoleMapper, phase == spec.PhaseReduce && pt.role == proto.RoleReducer:
			main = ref(pt)
		case phase == spec.PhaseMap && pt.role == proto.RoleCombiner:
			extra = append(extra, ref(pt))
		}
	}
	return main, extra
}

// fits reports whether worker w can run the program: why not, as one
// line naming the worker, or nil. A worker that did not say what it is
// (no OS) is given the benefit of the doubt; it checks again at launch.
func (p *program) fits(w registry.WorkerInfo) error {
	for _, pt := range p.parts {
		if w.OS == "" {
			return nil
		}
		if err := pt.info.CheckTarget(w.OS, w.Arch); err != nil {
			var pe *artinfo.PlatformError
			if errors.As(err, &pe) {
				return incompatible("%s was built for %s, worker %s is %s: rebuild it with %s",
					pt.art.Name, pe.Built, w.ID, pe.Target, pe.Fix)
			}
			return incompatible("%s: worker %s: %v", pt.art.Name, w.ID, err)
		}
		if p.kind == proto.KindPlugin {
			if err := artinfo.CheckPlugin(pt.info, pluginHost(w)); err != nil {
				return incompatible("%v", err)
			}
		}
	}
	return nil
}

// pluginHost describes w's plugin host from its registry entry.
func pluginHost(w registry.WorkerInfo) artinfo.Host {
	h := artinfo.Host{Name: "worker " + w.ID, GoVersion: w.GoVersion, DistVersion: w.Version}
	if w.Plugin != nil {
		h.GoVersion, h.Flags, h.Hashes = w.Plugin.GoVersion, w.Plugin.Flags, w.Plugin.Hashes
	}
	return h
}

// usable keeps the workers that can run the program. When none can, the
// error says why for the first of them.
func (p *program) usable(ws []registry.WorkerInfo) ([]registry.WorkerInfo, error) {
	var out []registry.WorkerInfo
	var first error
	refused := 0
	for _, w := range ws {
		if err := p.fits(w); err != nil {
			if first == nil {
				first = err
			}
			refused++
			continue
		}
		out = append(out, w)
	}
	if len(out) == 0 && first != nil {
		switch refused {
		case 1:
		case 2:
			return nil, fmt.Errorf("%w (and 1 more worker)", first)
		default:
			return nil, fmt.Errorf("%w (and %d more workers)", first, refused-1)
		}
		return nil, first
	}
	return out, nil
}

// reasonError is an error whose text is its reason alone but which
// matches a sentinel with errors.Is.
type reasonError struct {
	msg  string
	kind error
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.kind }

func badApp(format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), kind: ErrBadApp}
}

func incompatible(format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), kind: ErrIncompatible}
}

// validateExec checks the fields of an exec job.
func (c *Config) validateExec() error {
	switch {
	case c.App != "":
		return fmt.Errorf("--exec runs --mapper and --reducer, not --app: drop --app (or --exec)")
	case c.Mapper == "":
		return fmt.Errorf("%w: --exec needs --mapper CMD: an executable or #! script that reads lines and writes key<TAB>value lines", ErrNoApp)
	case c.Reducer == "" && c.Reduces > 0:
		return fmt.Errorf("%w: --exec needs --reducer CMD (or --reduces 0 for a map-only job)", ErrNoApp)
	}
	return nil
}
