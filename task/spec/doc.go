// Package spec is the contract between a dist worker and the program it
// runs: the task config the client sends and the worker writes to
// task.msgpack, the result the program writes to result.msgpack, the file
// layout of a task directory, and the names of tasks, partitions and
// counters. proto, worker, client and tracker import it; package task
// (the runtime linked into the program) implements it. It imports nothing
// of dist but internal/msgpackx, so the daemon side never links the
// runtime, and an app writer never sees the contract in package task.
//
// # The task directory
//
// A worker makes a fresh directory per attempt and starts the program with
// EnvTaskDir (DIST_TASK_DIR) pointing at it:
//
//	task.msgpack   ConfigFile: the Config, at most MaxConfigSize bytes
//	in/            InDir: SplitFile (a map's split) or a reduce's Inputs
//	out/           OutDir: what the program writes (MapPartName, PartName)
//	files/         FilesDir: the job's side files by base name, read-only
//	started        StartedFile: made by task.Main before anything else
//	result.msgpack ResultFile: the Result, written last (WriteFile)
//
// ReadConfig and DecodeConfig refuse a config that is too large, does not
// decode or fails Validate, with an error wrapping ErrBadConfig.
package spec
