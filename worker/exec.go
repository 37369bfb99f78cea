package worker

import (
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// execProgram runs the commands of an exec job (dist run --exec) under
// the task host, which streams records through them. The launch's
// Artifact is the command of the attempt's phase (the mapper of a map,
// the reducer of a reduce); a map's Extra may add its combiner.
func (w *Worker) execProgram(req *proto.LaunchRequest) (string, []string, error) {
	phase := req.Config.Phase
	want := proto.RoleMapper
	if phase == spec.PhaseReduce {
		want = proto.RoleReducer
	}
	if req.Artifact.Role != want {
		return "", nil, proto.Errorf(proto.CodeBadRequest,
			"a %s task of an exec job runs its %s, but the launch names a %q command: send the %s as the artifact",
			phase, want, req.Artifact.Role, want)
	}
	refs := append([]proto.ArtifactRef{req.Artifact}, req.Extra...)
	args := []string{hostCommand, "--exec"}
	seen := map[string]bool{}
	for i, ref := range refs {
		switch {
		case ref.Kind != proto.KindExec:
			return "", nil, proto.Errorf(proto.CodeBadRequest, "an exec job's %s is of kind %q: every command of an exec job has kind exec", ref.Role, ref.Kind)
		case i > 0 && (ref.Role != proto.RoleCombiner || phase != spec.PhaseMap):
			return "", nil, proto.Errorf(proto.CodeBadRequest, "a %s task of an exec job takes no extra %q command: only a map's combiner comes as an extra", phase, ref.Role)
		case seen[ref.Role]:
			return "", nil, proto.Errorf(proto.CodeBadRequest, "the launch names two %s commands", ref.Role)
		}
		seen[ref.Role] = true
		if err := checkSHA(ref.SHA256); err != nil {
			return "", nil, err
		}
		if !w.cache.has(ref.SHA256) {
			return "", nil, artifactMissing(ref)
		}
		if err := w.checkArtifact(ref); err != nil { // a script or a program for this platform
			return "", nil, err
		}
		args = append(args, "--"+ref.Role, w.cache.path(ref.SHA256), "--"+ref.Role+"-name", refName(ref))
	}
	host, err := w.host.program()
	if err != nil {
		return "", nil, err
	}
	return host, args, nil
}
