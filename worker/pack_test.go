package worker

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// A packed input is many whole files in one map: the worker stages them
// one after another, whatever their kind, and the task reads each with
// its own name and keys counted from its start.

// packedRequest is a map-only echo map over whole files, each described
// by fileSource or s3Source; names are what InputFile returns.
func packedRequest(job, art string, kind storage.Kind, files []*proto.InputSource, names []string) *proto.LaunchRequest {
	req := echoRequest(job, art, &proto.InputSource{Kind: string(kind)}, "")
	req.Config.Split = spec.Split{Pack: spec.SplitFile, Length: -1}
	for i, f := range files {
		req.Input.Pieces = append(req.Input.Pieces, proto.Piece{Name: f.Name, Size: f.Size, Version: f.Version})
		req.Input.Host = f.Host
		req.Config.Split.Pieces = append(req.Config.Split.Pieces, spec.Piece{Name: names[i], Length: f.Size})
	}
	return req
}

var packedData = []string{"one\ntwo", "", "three\r\n\nfour\n"}

// wantPacked is what the echo map makes of packedData under names.
func wantPacked(names []string) string {
	var b strings.Builder
	for i, d := range packedData {
		b.WriteString(echoed(d, names[i]))
	}
	return b.String()
}

func TestPackedLocal(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	dir := t.TempDir()
	var files []*proto.InputSource
	var names []string
	for i, d := range packedData {
		path := filepath.Join(dir, string(rune('a'+i)))
		putFile(t, path, d)
		files = append(files, fileSource(t, storage.Local, path, path, 0, int64(len(d))))
		names = append(names, "in/"+string(rune('a'+i)))
	}
	if _, got := succeed(t, s, packedRequest("packed", art, storage.Local, files, names)); got != wantPacked(names) {
		t.Fatalf("got\n%q\nwant\n%q", got, wantPacked(names))
	}

	// Sent by the client instead, the files come as one upload.
	sent := packedRequest("sent", art, storage.Local, files, names)
	sent.Input = nil
	putInput(t, s, "sent", sent.Config.Task, 0, strings.Join(packedData, ""))
	if _, got := succeed(t, s, sent); got != wantPacked(names) {
		t.Fatalf("sent: got\n%q\nwant\n%q", got, wantPacked(names))
	}

	// Each file is checked against its listing.
	appendFile(t, files[2].Name, "five\n")
	failWith(t, s, packedRequest("changed", art, storage.Local, files, names), proto.CodeInputChanged,
		"input "+files[2].Name+" changed since the job started (size 13 → 18): rerun the job")
}

func TestPackedWorkerData(t *testing.T) {
	data, _ := dataTree(t)
	w := newTestWorker(t, func(c *Config) { c.DataDir = data })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	var files []*proto.InputSource
	var names []string
	for i, d := range packedData {
		rel := "packed/" + string(rune('a'+i))
		putFile(t, filepath.Join(data, rel), d)
		files = append(files, fileSource(t, storage.Worker, filepath.Join(data, rel), rel, 0, int64(len(d))))
		names = append(names, "worker:"+w.ID()+":"+rel)
	}
	if _, got := succeed(t, s, packedRequest("packed", art, storage.Worker, files, names)); got != wantPacked(names) {
		t.Fatalf("got\n%q\nwant\n%q", got, wantPacked(names))
	}

	files[1].Name = "../outside/secret"
	failWith(t, s, packedRequest("up", art, storage.Worker, files, names), proto.CodeBadRequest, "leaves the data dir")
}

func TestPackedS3(t *testing.T) {
	store := newFakeStore()
	w := newTestWorker(t, func(c *Config) { c.ObjectStore = func() (ObjectStore, error) { return store, nil } })
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	var files []*proto.InputSource
	var names []string
	for i, d := range packedData {
		obj := store.put("s3://b/"+string(rune('a'+i)), []byte(d))
		files = append(files, s3Source(obj, 0, obj.Size, false))
		names = append(names, obj.Name)
	}
	if _, got := succeed(t, s, packedRequest("packed", art, storage.S3, files, names)); got != wantPacked(names) {
		t.Fatalf("got\n%q\nwant\n%q", got, wantPacked(names))
	}

	files[2].Version = "an-older-etag"
	failWith(t, s, packedRequest("changed", art, storage.S3, files, names), proto.CodeInputChanged,
		"input s3://b/c changed since the job started")
}

// A packed input must be what the task's split lists, and nothing else.
func TestPackedRefused(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	path := filepath.Join(t.TempDir(), "a")
	putFile(t, path, "abc\n")
	one := fileSource(t, storage.Local, path, path, 0, 4)
	files := []*proto.InputSource{one, one}
	names := []string{"a", "a"}

	short := packedRequest("short", art, storage.Local, files, names)
	short.Config.Split.Pieces = short.Config.Split.Pieces[:1]
	failWith(t, s, short, proto.CodeBadRequest, "packed input of 2 files for a split of 1")

	sized := packedRequest("sized", art, storage.Local, files, names)
	sized.Config.Split.Pieces[1].Length = 3
	failWith(t, s, sized, proto.CodeBadRequest, "is 4 bytes, its piece of the split 3")

	named := packedRequest("named", art, storage.Local, files, names)
	named.Input.Name = path
	failWith(t, s, named, proto.CodeBadRequest, "packed input also names a file")
}
