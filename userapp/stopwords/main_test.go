package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distmr/dist/task/tasktest"
)

func TestStopWords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte("The cat and the hat.\nOf mice and men\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := tasktest.Job{Inputs: []string{path}, Reduces: 1, Files: map[string][]byte{"stopwords.txt": []byte("the AND\nof\n")}}
	want := []string{"cat\t1", "hat\t1", "men\t1", "mice\t1"}
	if got := tasktest.Run(t, App, job).Lines(); !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	job.Files = map[string][]byte{"short.txt": []byte("cat hat mice men")}
	job.Params = map[string]string{"list": "short.txt"}
	want = []string{"and\t2", "of\t1", "the\t2"}
	if got := tasktest.Run(t, App, job).Lines(); !slices.Equal(got, want) {
		t.Fatalf("list=short.txt: got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
