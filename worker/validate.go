package worker

import (
	"errors"
	"runtime"
	"strings"
	"sync"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
)

// Before a launch runs anything, the cached artifact is inspected: a
// program must be an ELF executable for this worker's GOOS/GOARCH (a
// plugin an ELF Go plugin for it). The verdict depends only on the bytes,
// so it is kept per sha256.

// maxVerdicts bounds the remembered verdicts; past it they are forgotten.
const maxVerdicts = 1024

// verdicts remembers inspections by sha256 and kind.
type verdicts struct {
	mu sync.Mutex
	m  map[string]*proto.Error // nil value: the artifact is fine
}

func (v *verdicts) get(key string) (*proto.Error, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[key]
	return e, ok
}

func (v *verdicts) put(key string, e *proto.Error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil || len(v.m) >= maxVerdicts {
		v.m = make(map[string]*proto.Error)
	}
	v.m[key] = e
}

// checkArtifact refuses a cached artifact this worker cannot run as
// ref.Kind: not an ELF file, an ELF file that is not a program, or one
// built for another OS or architecture.
func (w *Worker) checkArtifact(ref proto.ArtifactRef) error {
	key := ref.Kind + "/" + ref.SHA256
	if e, ok := w.verdicts.get(key); ok {
		return e.Err()
	}
	path := w.cache.path(ref.SHA256)
	info, err := artifact.Inspect(path)
	if err != nil && !errors.Is(err, artifact.ErrNotELF) {
		return internalError("inspect artifact %s: %v", ref.SHA256, err) // unreadable: not a verdict
	}
	e := verdict(ref, path, info, err)
	w.verdicts.put(key, e)
	return e.Err()
}

// verdict judges an inspected artifact; nil means it may run.
func verdict(ref proto.ArtifactRef, path string, info *artifact.Info, err error) *proto.Error {
	name := artifactName(ref)
	if err != nil { // ErrNotELF
		what := strings.TrimPrefix(err.Error(), path+": ")
		if ref.Kind == proto.KindExec {
			return proto.Errorf(proto.CodeBadRequest, "%s is %s, nor a #! script: ship an executable for %s/%s or a script",
				name, what, runtime.GOOS, runtime.GOARCH)
		}
		return proto.Errorf(proto.CodeBadRequest, "%s is %s: ship a program built with go build for %s/%s",
			name, what, runtime.GOOS, runtime.GOARCH)
	}
	switch ref.Kind {
	case proto.KindBinary:
		switch info.Kind {
		case artifact.Executable:
		case artifact.Plugin:
			return proto.Errorf(proto.CodeBadRequest, "%s is a Go plugin, not a program: run it with --plugin", name)
		case artifact.Script:
			return proto.Errorf(proto.CodeBadRequest, "%s is a script, not an ELF file: run scripts with dist run --exec", name)
		default:
			return proto.Errorf(proto.CodeBadRequest, "%s is an ELF %s file, not a program: ship an executable (go build)", name, info.Kind)
		}
	case proto.KindPlugin:
		if info.Kind != artifact.Plugin {
			return proto.Errorf(proto.CodeBadRequest, "%s is not a Go plugin (it is %s %s): build it with go build -buildmode=plugin, or drop --plugin",
				name, article(string(info.Kind)), info.Kind)
		}
	}
	if err := info.CheckTarget(runtime.GOOS, runtime.GOARCH); err != nil {
		// Another worker of a mixed cluster may be able to run it.
		return proto.Retryablef(proto.CodeUnsupported, "%s: %v", name, err)
	}
	return nil
}

func artifactName(ref proto.ArtifactRef) string {
	if ref.Name != "" && len(ref.Name) <= 128 && !strings.ContainsAny(ref.Name, "\x00\n\r") {
		return "artifact " + ref.Name
	}
	return "artifact " + ref.SHA256[:12]
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}
