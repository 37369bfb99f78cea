package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distmr/dist/io/input"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// Side files (--file) are shipped like the program: hashed here, uploaded
// by pool.ship to each worker that lacks them, named in every launch
// (LaunchRequest.Files), and placed by the worker in the attempt's
// spec.FilesDir, where a task opens them by base name.

// checkFileNames refuses base names a task could not open by: unsafe
// ones, and two --file sharing one.
func checkFileNames(paths []string) error {
	seen := map[string]string{}
	for _, p := range paths {
		name := filepath.Base(p)
		if !spec.ValidName(name) {
			return fmt.Errorf("%w: --file %s: its base name %q is not a safe name ([A-Za-z0-9._-], at most 128 bytes): rename the file", ErrBadFile, p, name)
		}
		if prev, ok := seen[name]; ok {
			return fmt.Errorf("%w: --file %s and --file %s have the same base name %q, by which a task opens them: rename one", ErrBadFile, prev, p, name)
		}
		seen[name] = p
	}
	return nil
}

// checkFiles checks that each side file is a readable regular file and
// hashes it.
func checkFiles(paths []string) ([]*artifact, error) {
	if err := checkFileNames(paths); err != nil {
		return nil, err
	}
	var out []*artifact
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: --file %s: %v", ErrBadFile, p, errors.Unwrap(err))
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: --file %s is not a regular file", ErrBadFile, p)
		}
		a, err := hashArtifact(p, proto.KindFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --file %s: %v", ErrBadFile, p, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// checkDecompresses refuses a binary built against a task runtime that
// predates compressed input, when an input is compressed: it would read
// the compressed bytes as text and give a wrong answer without an error.
// Plugins and exec jobs read input with the worker's own runtime.
func (p *program) checkDecompresses(files []string) error {
	if p.kind != proto.KindBinary {
		return nil
	}
	g := p.parts[0].info.Go
	if g == nil || !g.FuncTable || g.Decompresses {
		return nil
	}
	for _, f := range files {
		if input.Compressed(f) {
			return badApp("--app %s was built with a dist older than compressed input, so it would read %s as text: rebuild it with this dist (dist build)",
				p.parts[0].art.Path, f)
		}
	}
	return nil
}

// fileRefs names the side files for a launch.
func (p *program) fileRefs() []proto.ArtifactRef {
	var out []proto.ArtifactRef
	for _, f := range p.files {
		out = append(out, proto.ArtifactRef{SHA256: f.SHA256, Kind: proto.KindFile, Name: f.Name})
	}
	return out
}
