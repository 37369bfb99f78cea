package worker

import (
	"errors"

	"github.com/distmr/dist/internal/artifact"
	"github.com/distmr/dist/proto"
)

// pluginProgram runs a Go plugin under the task host, after checking that
// the host can load it: the check Go's plugin loader would make, done
// before a slot is taken. A plugin this worker cannot load is refused for
// good (not retryable): the client checked it against this worker's
// registry entry and should not have sent it.
func (w *Worker) pluginProgram(ref proto.ArtifactRef) (string, []string, error) {
	if !w.cache.has(ref.SHA256) {
		return "", nil, artifactMissing(ref)
	}
	if err := w.checkArtifact(ref); err != nil { // a plugin, for this platform
		return "", nil, err
	}
	path := w.cache.path(ref.SHA256)
	info, err := w.host.plugin(ref.SHA256, path)
	if err != nil {
		return "", nil, internalError("inspect plugin %s: %v", ref.SHA256, err)
	}
	named := *info
	named.Path = refName(ref)
	if err := artifact.CheckPlugin(&named, w.host.abi("worker "+w.ID())); err != nil {
		code := proto.CodeVersion
		if errors.Is(err, artifact.ErrNoPluginHost) {
			code = proto.CodeUnsupported
		}
		return "", nil, proto.Errorf(code, "%v", err)
	}
	host, err := w.host.program()
	if err != nil {
		return "", nil, err
	}
	return host, []string{hostCommand, "--plugin", path, "--name", refName(ref)}, nil
}
