package main

import "testing"

// TestDetachRefusals: dist run --detach refuses, in one line and with
// exit 2, what a job that outlives dist run cannot do, before it connects
// to anything (the --zk address here has no ZooKeeper).
func TestDetachRefusals(t *testing.T) {
	t.Parallel()
	zk := []string{"--zk", "127.0.0.1:1"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"local", []string{"--local", "2", "--input", "s3://b/in.txt", "--output", "s3://b/out"},
			"a --local cluster lives in this process: a detached job would die with it; drop --detach or use --zk"},
		{"no zk", []string{"--workers", "127.0.0.1:1", "--input", "s3://b/in.txt", "--output", "s3://b/out"},
			"--detach needs --zk"},
		{"local input", append([]string{"--input", "books/a.txt", "--output", "s3://b/out"}, zk...),
			"--detach: input books/a.txt is on this machine; a detached job cannot read it once dist run exits: use s3:// or worker: inputs"},
		{"local output", append([]string{"--input", "worker:logs/*.log", "--output", "out"}, zk...),
			"--detach: output out is on this machine"},
		{"report", append([]string{"--input", "s3://b/in.txt", "--output", "s3://b/out", "--report", "r.html"}, zk...),
			"dist status or dist wait"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--detach", "--app", "./wordcount"}, c.args...)
			oneLine(t, dist(t, args...), exitUsage, c.want)
		})
	}
}
