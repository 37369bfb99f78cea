package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/internal/testsupport/testenv"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// The three ways to ship code (issue 3): binaries, Go plugins and any
// executable (--exec), and what is refused before anything runs.

// plainDist is dist built without the race detector (with -trimpath and
// cgo): a plugin host whose plugins `dist build --plugin` can match. The
// race-built dist of the other tests would load only race-built plugins.
func plainDist(t *testing.T) string { return env.Build(t, "./cmd/dist", false) }

// runIn runs the dist binary bin in dir and returns what it printed and
// its exit status.
func runIn(t *testing.T, bin, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return r
}

func mustRunIn(t *testing.T, bin, dir string, args ...string) result {
	t.Helper()
	r := runIn(t, bin, dir, args...)
	if r.code != 0 {
		t.Fatalf("dist %v exited %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// oneLine fails unless the command failed with exit status code and a
// one-line error on stderr that says every one of want.
func oneLine(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, code, r.stderr)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
		t.Fatalf("want a one-line error, got:\n%s", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Fatalf("error does not say %q:\n%s", w, r.stderr)
		}
	}
}

// sortedOutput returns a job's output lines, sorted.
func sortedOutput(t *testing.T, dir string) string {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	var lines []string
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func streamingScripts(t *testing.T) (mapper, reducer string) {
	t.Helper()
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk:", err)
	}
	dir := filepath.Join(env.Root(), "userapp", "streaming")
	return filepath.Join(dir, "map.sh"), filepath.Join(dir, "reduce.sh")
}

// TestThreeWaysAgree runs the same word count as a binary, as a plugin
// built with dist build --plugin, and as sh+awk scripts with --exec: all
// three agree with the sequential count, line for line.
func TestThreeWaysAgree(t *testing.T) {
	t.Parallel()
	books := env.Corpus(t)
	glob := filepath.Join(filepath.Dir(books[0]), "*.txt")
	mapper, reducer := streamingScripts(t)
	host := plainDist(t)
	plugin := filepath.Join(t.TempDir(), "wordcount.so")
	r := mustRunIn(t, host, env.Root(), "build", "--plugin", "./userapp/wordcount", "-o", plugin)
	if !strings.Contains(r.stdout, "plugin  "+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Fatalf("dist build --plugin output:\n%s", r.stdout)
	}

	outs := map[string]string{}
	for _, way := range []struct {
		name string
		bin  string
		args []string
	}{
		{"binary", env.Dist(t), []string{"--app", env.App(t, "wordcount")}},
		{"plugin", host, []string{"--plugin", "--app", plugin}},
		{"exec", env.Dist(t), []string{"--exec", "--mapper", mapper, "--reducer", reducer, "--combiner", reducer}},
	} {
		out := filepath.Join(t.TempDir(), way.name)
		args := append([]string{"run", "--local", "3", "--input", glob, "--output", out, "--reduces", "3"}, way.args...)
		r := mustRunIn(t, way.bin, "", args...)
		assertCommitted(t, out, 3)
		checkWordCounts(t, out, books)
		if !strings.Contains(r.stdout, "maps 8, reduces 3") || !strings.Contains(r.stdout, "failed 0") {
			t.Errorf("%s: summary:\n%s", way.name, r.stdout)
		}
		outs[way.name] = sortedOutput(t, out)
	}
	if outs["plugin"] != outs["binary"] || outs["exec"] != outs["binary"] {
		t.Fatal("the three ways disagree")
	}
}

// TestChangedTaskPluginRefused builds the word count plugin against a copy
// of the module whose task package has one more exported name, with the
// same toolchain and flags: Go's loader would refuse it ("plugin was built
// with a different version of package"). The client refuses it before
// shipping; a worker sent it anyway refuses it at launch, for good.
func TestChangedTaskPluginRefused(t *testing.T) {
	t.Parallel()
	host := plainDist(t)
	mod := env.CopyModule(t)
	change := "package task\n\n// Changed makes this copy of task differ from the workers'.\nconst Changed = 1\n"
	if err := os.WriteFile(filepath.Join(mod, "task", "changed.go"), []byte(change), 0o644); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(t.TempDir(), "changed.so")
	mustRunIn(t, host, mod, "build", "--plugin", "./userapp/wordcount", "-o", plugin)
	books := env.Corpus(t)
	want := []string{"plugin changed.so was built with a different version of package github.com/distmr/dist/task than worker",
		"rebuild it with dist build --plugin using " + runtime.Version(), "or ship a binary"}

	t.Run("client refuses before shipping", func(t *testing.T) {
		w1 := testenv.StartWorker(t, host)
		w2 := testenv.StartWorker(t, host)
		out := filepath.Join(t.TempDir(), "out")
		start := time.Now()
		r := runIn(t, host, "", "run", "--workers", w1.Addr+","+w2.Addr, "--plugin", "--app", plugin,
			"--input", books[0], "--output", out, "--quiet")
		t.Logf("refused in %v", time.Since(start))
		oneLine(t, r, exitJobFailed, want...)
		assertNothingCommitted(t, out)
		for _, w := range []*testenv.Worker{w1, w2} {
			if ents, _ := os.ReadDir(filepath.Join(w.Dir, "cache")); len(ents) != 0 {
				t.Fatalf("the plugin was shipped to %s", w.ID)
			}
			if strings.Contains(w.Logs(), "launch") {
				t.Fatalf("%s launched a task:\n%s", w.ID, w.Logs())
			}
		}
	})
	t.Run("worker refuses at launch", func(t *testing.T) {
		w := testenv.StartWorker(t, host)
		start := time.Now()
		ev := launchDirect(t, w.Addr, plugin, proto.KindPlugin)
		t.Logf("refused in %v", time.Since(start))
		if ev.Error == nil || ev.Error.Code != proto.CodeVersion || ev.Error.Retryable {
			t.Fatalf("final event %+v, want a non-retryable version error", ev.Error)
		}
		for _, s := range want {
			if !strings.Contains(ev.Error.Message, strings.Replace(s, "than worker", "than worker "+w.ID, 1)) {
				t.Fatalf("%q does not say %q", ev.Error.Message, s)
			}
		}
		// The worker goes on serving: the matching plugin runs.
		good := filepath.Join(t.TempDir(), "good.so")
		mustRunIn(t, host, env.Root(), "build", "--plugin", "./userapp/wordcount", "-o", good)
		if ev := launchDirect(t, w.Addr, good, proto.KindPlugin); ev.Error != nil {
			t.Fatalf("matching plugin: %v", ev.Error)
		}
	})
}

// launchDirect ships path to the worker at addr and runs one map over a
// small input with it, bypassing the client's checks; it returns the
// final event.
func launchDirect(t *testing.T, addr, path, kind string) *proto.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := proto.Dial(ctx, addr, proto.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	const job = "j-direct"
	put := func(op string, req any, body []byte) {
		st, err := s.Open(ctx, op, job, req)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := s.ReadReply(ctx, st, op, &proto.Reply{}); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
	}
	put(proto.OpPutArtifact, &proto.PutArtifactRequest{SHA256: sha, Size: int64(len(data))}, data)
	input := []byte("the quick brown fox\njumps over the lazy dog\n")
	ref := proto.AttemptRef{Job: job, Task: spec.TaskID(spec.PhaseMap, 0), Attempt: int(time.Now().UnixNano() % 1000000)}
	put(proto.OpPutInput, &proto.PutInputRequest{AttemptRef: ref, Size: int64(len(input))}, input)
	req := &proto.LaunchRequest{
		Config: spec.Config{Job: job, Task: ref.Task, Attempt: ref.Attempt, Phase: spec.PhaseMap, Reduces: 1,
			Split: spec.Split{File: spec.SplitFile, Name: "in.txt", Length: int64(len(input))}},
		Artifact: proto.ArtifactRef{SHA256: sha, Kind: kind, Name: filepath.Base(path)},
	}
	st, err := s.Open(ctx, proto.OpLaunch, job, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		var ev proto.Event
		if err := proto.ReadFrame(st, proto.MaxFrame, &ev); err != nil {
			t.Fatalf("launch: %v", err)
		}
		if ev.Final {
			return &ev
		}
	}
}

func TestForeignBinaryRefusedBeforeUpload(t *testing.T) {
	t.Parallel()
	goarch, other := "arm64", "amd64"
	if runtime.GOARCH == "arm64" {
		goarch, other = "amd64", "arm64"
	}
	if runtime.GOARCH != other {
		t.Skipf("worker platform %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	foreign := env.Build(t, "./userapp/wordcount", false, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	w := testenv.StartWorker(t, env.Dist(t))
	out := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	r := dist(t, "run", "--workers", w.Addr, "--app", foreign, "--input", env.Corpus(t)[0], "--output", out, "--quiet")
	t.Logf("refused in %v", time.Since(start))
	oneLine(t, r, exitJobFailed, filepath.Base(foreign)+" was built for linux/"+goarch,
		"worker "+w.ID+" is linux/"+other, "rebuild it with GOARCH="+other)
	if ents, _ := os.ReadDir(filepath.Join(w.Dir, "cache")); len(ents) != 0 {
		t.Fatal("the foreign binary was uploaded")
	}
	assertNothingCommitted(t, out)
}

func TestMapperScriptFails(t *testing.T) {
	t.Parallel()
	_, reducer := streamingScripts(t)
	mapper := filepath.Join(t.TempDir(), "parse.sh")
	script := "#!/bin/sh\necho 'reading records' >&2\necho 'parse.sh: line 17: bad record: expected a date' >&2\nexit 3\n"
	if err := os.WriteFile(mapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	r := dist(t, "run", "--local", "2", "--exec", "--mapper", mapper, "--reducer", reducer,
		"--input", env.Corpus(t)[0], "--output", out, "--max-attempts", "2")
	if r.code != exitJobFailed {
		t.Fatalf("exit %d, want %d\n%s", r.code, exitJobFailed, r.stderr)
	}
	for _, want := range []string{"mapper parse.sh exited with status 3", "bad record: expected a date", "failed 2 of 2 attempts"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr does not say %q:\n%s", want, r.stderr)
		}
	}
	assertNothingCommitted(t, out)
}

func TestArtifactValidation(t *testing.T) {
	t.Parallel()
	book := env.Corpus(t)[0]
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	random := file("random.bin", "\x93\x11\xfe\x02 not a program at all", 0o755)
	script := file("count.sh", "#!/bin/sh\nwc -l\n", 0o755)
	notExec := file("noexec.sh", "#!/bin/sh\ncat\n", 0o644)
	plugin := env.Plugin(t, "", "./userapp/wordcount")
	binary := env.App(t, "wordcount")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"random bytes", []string{"--app", random}, "--app " + random + " is not an ELF file (it starts with bytes 93 11 fe 02)"},
		{"plugin without --plugin", []string{"--app", plugin}, "is a Go plugin: add --plugin"},
		{"binary with --plugin", []string{"--plugin", "--app", binary}, "is an executable, not a plugin: drop --plugin"},
		{"script as app", []string{"--app", script}, "run scripts with --exec --mapper"},
		{"exec without mapper", []string{"--exec", "--reducer", script}, "--exec needs --mapper CMD"},
		{"exec without reducer", []string{"--exec", "--mapper", script}, "--exec needs --reducer CMD"},
		{"exec with app", []string{"--exec", "--app", binary, "--mapper", script, "--reducer", script}, "drop --app"},
		{"mapper not executable", []string{"--exec", "--mapper", notExec, "--reducer", script}, "is not executable: chmod +x it"},
		{"mapper is random bytes", []string{"--exec", "--mapper", random, "--reducer", script}, "is not an ELF program or a #! script"},
		{"plugin and exec", []string{"--exec", "--plugin", "--mapper", script, "--reducer", script}, "exclude each other"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--local", "1", "--input", book, "--output", filepath.Join(t.TempDir(), "o"), "--quiet"}, c.args...)
			oneLine(t, dist(t, args...), exitUsage, c.want)
		})
	}
}

// TestNoPluginHost runs workers whose dist was built without cgo: they
// say "no-plugins", and a plugin job is refused before shipping.
func TestNoPluginHost(t *testing.T) {
	t.Parallel()
	nocgo := env.Build(t, "./cmd/dist", false, "CGO_ENABLED=0")
	if r := mustRun(t, "version"); !strings.Contains(r.stdout, "hosts Go plugins: yes") {
		t.Fatalf("the race-built dist should host plugins: %s", r.stdout)
	}
	if r := mustRunIn(t, nocgo, "", "version"); !strings.Contains(r.stdout, "hosts Go plugins: no") {
		t.Fatalf("dist version of a CGO_ENABLED=0 build: %s", r.stdout)
	}
	w := testenv.StartWorker(t, nocgo)
	r := runIn(t, nocgo, "", "run", "--workers", w.Addr, "--plugin", "--app", env.Plugin(t, "", "./userapp/wordcount"),
		"--input", env.Corpus(t)[0], "--output", filepath.Join(t.TempDir(), "o"), "--quiet")
	oneLine(t, r, exitJobFailed, "worker "+w.ID+" cannot host Go plugins: its dist was built without cgo", "ship a binary")
	// Sent anyway, the plugin is refused at launch, for good.
	ev := launchDirect(t, w.Addr, env.Plugin(t, "", "./userapp/wordcount"), proto.KindPlugin)
	if ev.Error == nil || ev.Error.Code != proto.CodeUnsupported || ev.Error.Retryable {
		t.Fatalf("final event error %+v, want a non-retryable unsupported", ev.Error)
	}
	// Binaries and scripts still run there.
	mapper, reducer := streamingScripts(t)
	out := filepath.Join(t.TempDir(), "out")
	mustRunIn(t, nocgo, "", "run", "--workers", w.Addr, "--exec", "--mapper", mapper, "--reducer", reducer,
		"--input", env.Corpus(t)[0], "--output", out)
	checkWordCounts(t, out, env.Corpus(t)[:1])
}

func TestBuildAndVersion(t *testing.T) {
	t.Parallel()
	host := plainDist(t)
	var v struct {
		Go      string   `json:"go"`
		Flags   []string `json:"build_flags"`
		OS      string   `json:"os"`
		Arch    string   `json:"arch"`
		Plugins bool     `json:"plugins"`
	}
	r := mustRunIn(t, host, "", "version", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("dist version --json: %v\n%s", err, r.stdout)
	}
	if v.Go != runtime.Version() || !v.Plugins || v.OS != runtime.GOOS || !strings.Contains(strings.Join(v.Flags, " "), "-trimpath=true") {
		t.Fatalf("dist version --json: %+v", v)
	}
	like := filepath.Join(t.TempDir(), "worker.json")
	if err := os.WriteFile(like, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(\S+)  (static binary|plugin)  (\S+)  (go\S+)  (\d+) bytes  sha256 ([0-9a-f]{64})\n$`)
	for _, c := range []struct {
		args []string
		mode string
	}{
		{[]string{"build", "./userapp/grep", "-o", filepath.Join(t.TempDir(), "grep")}, "static binary"},
		{[]string{"build", "--plugin", "--like", like, "./userapp/grep", "-o", filepath.Join(t.TempDir(), "grep.so")}, "plugin"},
	} {
		r := mustRunIn(t, host, env.Root(), c.args...)
		m := line.FindStringSubmatch(r.stdout)
		if m == nil || m[2] != c.mode || m[3] != runtime.GOOS+"/"+runtime.GOARCH || m[4] != runtime.Version() {
			t.Fatalf("dist %v printed %q", c.args, r.stdout)
		}
		data, err := os.ReadFile(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != m[6] {
			t.Fatal("printed sha256 is not the file's")
		}
	}
	r = runIn(t, host, env.Root(), "build", "./userapp/grep")
	oneLine(t, r, exitUsage, "dist build [--plugin] PKG -o OUT")
}
