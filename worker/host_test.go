package worker

import (
	"slices"
	"testing"

	"github.com/distmr/dist/proto"
)

// The test binary does not link package plugin, so as the task host it
// cannot load plugins; plugin and exec tasks that run are tested end to
// end in cmd/dist with the real dist binary as the host.

func TestNoPluginHostInfo(t *testing.T) {
	w := newTestWorker(t, nil)
	info := w.Info()
	if !slices.Contains(info.Flags, "no-plugins") || info.Plugin != nil {
		t.Fatalf("a host without plugin support: flags %v, plugin %+v", info.Flags, info.Plugin)
	}
	if slices.Contains(info.Flags, "no-exec") {
		t.Fatalf("every worker runs exec jobs: flags %v", info.Flags)
	}
}

func TestPluginAndExecLaunchRefusals(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	ctx := testContext(t)
	app := putTestApp(t, s)
	script := []byte("#!/bin/sh\ncat\n")
	cmd := sha(script)
	if err := putArtifactBytes(ctx, s, script, cmd); err != nil {
		t.Fatal(err)
	}
	missing := sha([]byte("never uploaded"))
	exec := func(role string, extra ...proto.ArtifactRef) *proto.LaunchRequest {
		r := mapRequest("j", 0, 0, 1, cmd, nil)
		r.Artifact.Kind, r.Artifact.Role, r.Extra = proto.KindExec, role, extra
		return r
	}
	for _, tc := range []struct {
		name string
		req  *proto.LaunchRequest
		code string
		want string
	}{
		{"binary as plugin", func() *proto.LaunchRequest {
			r := mapRequest("j", 0, 0, 1, app, nil)
			r.Artifact.Kind = proto.KindPlugin
			return r
		}(), proto.CodeBadRequest, "is not a Go plugin"},
		{"map runs a reducer", exec(proto.RoleReducer), proto.CodeBadRequest, `runs its mapper, but the launch names a "reducer" command`},
		{"extra reducer", exec(proto.RoleMapper, proto.ArtifactRef{SHA256: cmd, Kind: proto.KindExec, Role: proto.RoleReducer}),
			proto.CodeBadRequest, `takes no extra "reducer" command`},
		{"extra of another kind", exec(proto.RoleMapper, proto.ArtifactRef{SHA256: cmd, Kind: proto.KindBinary, Role: proto.RoleCombiner}),
			proto.CodeBadRequest, "every command of an exec job has kind exec"},
		{"two combiners", exec(proto.RoleMapper,
			proto.ArtifactRef{SHA256: cmd, Kind: proto.KindExec, Role: proto.RoleCombiner},
			proto.ArtifactRef{SHA256: cmd, Kind: proto.KindExec, Role: proto.RoleCombiner}),
			proto.CodeBadRequest, "two combiner commands"},
		{"combiner not uploaded", exec(proto.RoleMapper, proto.ArtifactRef{SHA256: missing, Kind: proto.KindExec, Role: proto.RoleCombiner, Name: "comb.sh"}),
			proto.CodeNotFound, "comb.sh (sha256 " + missing + ") is not in this worker's cache"},
		{"bad extra sha", exec(proto.RoleMapper, proto.ArtifactRef{SHA256: "nope", Kind: proto.KindExec, Role: proto.RoleCombiner}),
			proto.CodeBadRequest, "not 64 lowercase hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := runToEnd(t, s, tc.req)
			if len(evs) != 1 {
				t.Fatalf("refused launch sent %d events", len(evs))
			}
			e := wireCode(t, evs[0].Error, tc.code, tc.want)
			if e.Retryable {
				t.Fatalf("%s is retryable", e.Message)
			}
		})
	}
}
