package worker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A launch's side files are placed read-only in files/ and opened by the
// task by name.
func TestSideFilePlaced(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	body := []byte("extra extra")
	sum := sha(body)
	if err := putArtifactBytes(testContext(t), s, body, sum); err != nil {
		t.Fatal(err)
	}
	putInput(t, s, "j1", "m-00000", 0, "one two\n")
	req := mapRequest("j1", 0, 0, 0, art, map[string]string{"mode": "sidefile", "file": "words.txt"})
	req.Files = []proto.ArtifactRef{{SHA256: sum, Kind: proto.KindFile, Name: "words.txt"}}
	evs := runToEnd(t, s, req)
	if final := evs[len(evs)-1]; final.Error != nil {
		t.Fatalf("attempt failed: %v %s", final.Error, final.StderrTail)
	}
	if got := fetchOutput(t, s, "j1", "m-00000", 0, spec.PartName(0)); string(got) != "one\t1\ntwo\t1\nextra\t1\nextra\t1\n" {
		t.Fatalf("output %q", got)
	}
	placed := filepath.Join(w.attemptDir(attemptKey{"j1", "m-00000", 0}), spec.FilesDir, "words.txt")
	if fi, err := os.Stat(placed); err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("placed side file: %v, %v", fi, err)
	}
}

// Side files with unsafe names, the wrong kind, twice the same name, or
// missing from the cache are refused before the attempt starts.
func TestSideFileRefused(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	body := []byte("x")
	sum := sha(body)
	if err := putArtifactBytes(testContext(t), s, body, sum); err != nil {
		t.Fatal(err)
	}
	putInput(t, s, "j1", "m-00000", 0, "one\n")
	ok := proto.ArtifactRef{SHA256: sum, Kind: proto.KindFile, Name: "a.txt"}
	for _, c := range []struct {
		name  string
		files []proto.ArtifactRef
		code  string
		want  string
	}{
		{"dot dot", []proto.ArtifactRef{{SHA256: sum, Kind: proto.KindFile, Name: ".."}}, proto.CodeBadRequest, "side file name"},
		{"slash", []proto.ArtifactRef{{SHA256: sum, Kind: proto.KindFile, Name: "../../etc/passwd"}}, proto.CodeBadRequest, "side file name"},
		{"kind", []proto.ArtifactRef{{SHA256: sum, Kind: proto.KindBinary, Name: "a.txt"}}, proto.CodeBadRequest, "kind"},
		{"twice", []proto.ArtifactRef{ok, ok}, proto.CodeBadRequest, "two side files called a.txt"},
		{"not cached", []proto.ArtifactRef{{SHA256: sha([]byte("y")), Kind: proto.KindFile, Name: "b.txt"}}, proto.CodeNotFound, "b.txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := mapRequest("j1", 0, 0, 0, art, nil)
			req.Files = c.files
			evs := runToEnd(t, s, req)
			final := evs[len(evs)-1]
			if final.Error == nil || final.Error.Code != c.code {
				t.Fatalf("final event %+v, want code %s", final, c.code)
			}
			wireCode(t, final.Error, c.code, c.want)
		})
	}
}
