package master

import (
	"fmt"
	"slices"
	"strings"

	"github.com/distmr/dist/io/storage"
)

// DetachableFlags are the dist run flags a detached job may carry in
// JobSpec.Args: job settings only. Program paths arrive as JobFiles, and
// cluster, credential and output flags (--zk, --secret-file, --report,
// --ui, ...) are the hosting worker's, never the submitter's.
var DetachableFlags = []string{
	"input", "tasks", "output", "overwrite", "reduces", "total-order", "param",
	"input-format", "max-attempts", "task-timeout", "speculative", "early-reduces",
	"keepalive", "split-size", "sort-buffer", "worker-wait", "plugin", "exec",
}

// CheckArgs checks that every arg is "--name=value" with a name in
// DetachableFlags, and that the job's data is not on any machine's own
// disk: a master runs as its worker's user, which must not read or write
// that worker's files for whoever submits a job.
func CheckArgs(args []string) error {
	for _, a := range args {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch {
		case name == "input" && storage.KindOf(value) == storage.Local:
			return fmt.Errorf("input %q of a detached job is on a machine's own disk: use s3:// or worker: inputs", value)
		case name == "output" && storage.KindOf(value) != storage.S3:
			return fmt.Errorf("output %q of a detached job is on a machine's own disk: use an s3:// output", value)
		}
		if !strings.HasPrefix(a, "--") || !ok {
			return fmt.Errorf("job argument %q is not --name=value", a)
		}
		if !slices.Contains(DetachableFlags, name) {
			return fmt.Errorf("flag --%s cannot be passed to a detached job: only --%s are", name, strings.Join(DetachableFlags, ", --"))
		}
	}
	return nil
}

// argValues returns the values of every --name=value in args.
func argValues(args []string, name string) []string {
	var vs []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			vs = append(vs, v)
		}
	}
	return vs
}
