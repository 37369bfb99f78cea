package scaffold

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Module is the module that provides package task.
const Module = "github.com/distmr/dist"

//go:embed template/*.tmpl
var templates embed.FS

// Options describe one new app. Zero values are documented per field.
type Options struct {
	// Dir is where the app goes: a directory that does not exist yet or
	// is empty. Its base name is the module's name. Required.
	Dir string
	// Source is the top directory of a dist checkout (see FindSource).
	// Required.
	Source string
	// Go is the go command; "" means "go" from PATH.
	Go string
}

// Result says what New wrote.
type Result struct {
	Dir    string   // the app's directory, absolute
	Module string   // its module path
	Source string   // the dist checkout it builds against, absolute
	Files  []string // the files written, by base name
}

// New writes a word-count app into o.Dir: main.go, main_test.go, and a
// go.mod, go.sum and go.work that build it against the checkout o.Source.
func New(ctx context.Context, o Options) (*Result, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(dir)
	if !validName(name) {
		return nil, fmt.Errorf("%w: %s: a module is named after its directory, and %q is not a module path element: use letters, digits, '-', '_' and '.'",
			ErrBadName, o.Dir, name)
	}
	if err := checkEmpty(o.Dir); err != nil {
		return nil, err
	}
	src, err := checkSource(o.Source)
	if err != nil {
		return nil, err
	}
	files, err := render(ctx, o, name, src)
	if err != nil {
		return nil, err
	}
	if err := write(dir, files); err != nil {
		return nil, err
	}
	res := &Result{Dir: dir, Module: name, Source: src}
	for _, f := range files {
		res.Files = append(res.Files, f.name)
	}
	return res, nil
}

// file is one file of the new app.
type file struct {
	name string
	data []byte
}

// render produces the app's files.
func render(ctx context.Context, o Options, name, src string) ([]file, error) {
	goVersion, err := goDirective(filepath.Join(src, "go.mod"))
	if err != nil {
		return nil, err
	}
	deps, err := taskDeps(ctx, o.Go, src)
	if err != nil {
		return nil, err
	}
	sums, err := sumLines(filepath.Join(src, "go.sum"), deps)
	if err != nil {
		return nil, err
	}
	var files []file
	for _, t := range []string{"main.go", "main_test.go"} {
		tmpl, err := template.ParseFS(templates, "template/"+t+".tmpl")
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, struct{ Name string }{name}); err != nil {
			return nil, err
		}
		files = append(files, file{t, b.Bytes()})
	}
	return append(files,
		file{"go.mod", goMod(name, goVersion, src, deps)},
		file{"go.sum", sums},
		file{"go.work", goWork(goVersion, src)}), nil
}

// goWork writes the app's go.work (see doc.go, "Plugins").
func goWork(goVersion, src string) []byte {
	return fmt.Appendf(nil, `// This workspace builds %s from the checkout as one of its own
// modules, so that a plugin of this app compiles package task exactly as
// the workers' dist does (with the replace in go.mod alone, -trimpath
// names task's files differently and Go's plugin loader refuses the
// plugin). GOWORK=off builds with go.mod alone.
go %s

use (
	.
	%s
)
`, Module, goVersion, quoteModPath(src))
}

// goMod writes the app's go.mod.
func goMod(name, goVersion, src string, deps []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "module %s\n\ngo %s\n\nrequire %s v0.0.0\n", name, goVersion, Module)
	if len(deps) > 0 {
		b.WriteString("\nrequire (\n")
		for _, d := range deps {
			fmt.Fprintf(&b, "\t%s // indirect\n", d)
		}
		b.WriteString(")\n")
	}
	fmt.Fprintf(&b, "\n// %s is not published: build against a local checkout.\nreplace %s => %s\n", Module, Module, quoteModPath(src))
	return b.Bytes()
}

// quoteModPath quotes a directory for go.mod when it needs it.
func quoteModPath(p string) string {
	if strings.ContainsAny(p, " \t\"'`\\") {
		return fmt.Sprintf("%q", p)
	}
	return p
}

// taskDeps lists the modules that package task and task/tasktest import,
// as "path version", by asking the go command in the checkout (which
// needs no network there: dist was built from it).
func taskDeps(ctx context.Context, goCmd, src string) ([]string, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "list", "-deps",
		"-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", "./task", "./task/tasktest")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list the modules package task needs: go list in %s: %v: %s", src, err, firstLine(stderr.String()))
	}
	seen := map[string]bool{}
	var deps []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] {
			seen[l] = true
			deps = append(deps, l)
		}
	}
	return deps, nil
}

// sumLines returns the lines of the checkout's go.sum for deps ("path
// version"): the hash of each module's files and of its go.mod.
func sumLines(path string, deps []string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSource, err)
	}
	var b bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		for _, d := range deps {
			if strings.HasPrefix(line, d+" ") || strings.HasPrefix(line, d+"/go.mod ") {
				b.WriteString(line)
				break
			}
		}
	}
	return b.Bytes(), nil
}

// goDirective reads the go line of a go.mod.
func goDirective(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoSource, err)
	}
	defer f.Close() // read only
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%w: %s has no go line", ErrNoSource, path)
}

// write creates dir (when missing) and the files in it. On failure it
// removes what it wrote.
func write(dir string, files []file) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				os.Remove(p)
			}
		}
	}()
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		written = append(written, p)
		_, werr := fh.Write(f.data)
		if cerr := fh.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", p, werr)
		}
	}
	return nil
}

// checkEmpty refuses a target that exists and is not an empty directory.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return fmt.Errorf("%w: %s is a file: dist new writes an app into a new or empty directory", ErrNotEmpty, dir)
		}
		return err
	case len(entries) > 0:
		return fmt.Errorf("%w: %s already holds %s: dist new writes an app into a new or empty directory",
			ErrNotEmpty, dir, listed(entries))
	}
	return nil
}

// listed names a few directory entries for a message.
func listed(entries []os.DirEntry) string {
	var names []string
	for i, e := range entries {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(entries)-3))
			break
		}
		names = append(names, e.Name())
	}
	return strings.Join(names, ", ")
}

// moduleElem is what a module path element may hold (golang.org/x/mod's
// rules: letters, digits, '-', '.', '_' and '~', not starting with a dot
// or ending with one).
var moduleElem = regexp.MustCompile(`^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$`)

func validName(name string) bool {
	return moduleElem.MatchString(name) && !strings.HasSuffix(name, ".")
}

// checkSource returns the absolute path of a dist checkout, or why src is
// not one.
func checkSource(src string) (string, error) {
	if src == "" {
		return "", fmt.Errorf("%w: no checkout given", ErrNoSource)
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", err
	}
	if !isSource(abs) {
		return "", fmt.Errorf("%w at %s: no go.mod declaring module %s beside a task directory: give the top directory of your clone",
			ErrNoSource, src, Module)
	}
	return abs, nil
}

// isSource reports whether dir is the top of a dist checkout.
func isSource(dir string) bool {
	if fi, err := os.Stat(filepath.Join(dir, "task")); err != nil || !fi.IsDir() {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(v), `"`) == Module
		}
	}
	return false
}

// FindSource returns the first dist checkout found walking up from each
// of starts in turn ("" entries are skipped).
func FindSource(starts ...string) (string, error) {
	var looked []string
	for _, s := range starts {
		if s == "" {
			continue
		}
		dir, err := filepath.Abs(s)
		if err != nil {
			continue
		}
		if !slices.Contains(looked, dir) {
			looked = append(looked, dir)
		}
		for {
			if isSource(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("%w (the module %s, which provides package task) in or above %s",
		ErrNoSource, Module, strings.Join(looked, " or "))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
