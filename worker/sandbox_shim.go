package worker

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The run-as shim. A task that runs as another user cannot have its
// limits set from outside without CAP_SYS_RESOURCE, and os/exec cannot
// set them between fork and exec; so with RunAs the worker starts its own
// executable as a shim (argv[0] shimArg0), still as root, which sets the
// limits on itself, drops to the task's user and groups, and execs the
// program: the program starts with its limits and identity in place.

// shimArg0 marks a process started as the shim.
const shimArg0 = "dist-task-sandbox"

// SandboxMain runs the task sandbox shim and exits when this process was
// started as one; otherwise it returns at once. A program that runs a
// Worker with Security.RunAs calls it first thing in main (the dist
// command does; so does this package's TestMain).
func SandboxMain() {
	if len(os.Args) < 2 || os.Args[0] != shimArg0 {
		return
	}
	if os.Args[1] == "check" {
		fmt.Println("ok")
		os.Exit(0)
	}
	err := runShim(os.Args[1:])
	fmt.Fprintf(os.Stderr, "dist task sandbox: %v\n", err)
	os.Exit(127)
}

// shimArgs is what the worker tells the shim.
type shimArgs struct {
	maxFiles, maxProcs uint64
	uid, gid           uint32
	path               string
	argv               []string
}

func (a shimArgs) encode() []string {
	return append([]string{shimArg0,
		strconv.FormatUint(a.maxFiles, 10), strconv.FormatUint(a.maxProcs, 10),
		strconv.FormatUint(uint64(a.uid), 10), strconv.FormatUint(uint64(a.gid), 10),
		"--", a.path}, a.argv...)
}

func parseShimArgs(args []string) (shimArgs, error) {
	var a shimArgs
	if len(args) < 7 || args[4] != "--" {
		return a, fmt.Errorf("bad arguments %q", strings.Join(args, " "))
	}
	var nums [4]uint64
	for i := range nums {
		n, err := strconv.ParseUint(args[i], 10, 64)
		if err != nil {
			return a, fmt.Errorf("bad argument %q", args[i])
		}
		nums[i] = n
	}
	a.maxFiles, a.maxProcs, a.uid, a.gid = nums[0], nums[1], uint32(nums[2]), uint32(nums[3])
	a.path, a.argv = args[5], args[6:] // argv holds its own argv[0]
	return a, nil
}

// useShim rewrites cmd to start the program through the shim.
func (sb *sandbox) useShim(cmd *exec.Cmd) {
	a := shimArgs{
		maxFiles: sb.filesLimit(), maxProcs: sb.maxProcs,
		uid: sb.cred.Uid, gid: sb.cred.Gid,
		path: cmd.Path, argv: cmd.Args,
	}
	cmd.Args = a.encode()
	cmd.Path = sb.self
}

// checkShim makes sure this executable answers as the shim.
func (sb *sandbox) checkShim() error {
	cmd := exec.Command(sb.self, "check")
	cmd.Args[0] = shimArg0
	cmd.Env = []string{}
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		return fmt.Errorf("%w: --run-as needs the worker's executable %s to call worker.SandboxMain first thing (got %q, %v)",
			ErrConfig, sb.self, out, err)
	}
	return nil
}
