// Package streaming runs map and reduce tasks through external commands,
// in the manner of Hadoop Streaming: `dist run --exec --mapper CMD
// --reducer CMD [--combiner CMD]`. The worker runs its own binary as the
// task host (`dist task-host --exec ...`), which drives the ordinary task
// runtime (input formats, partitioning, sort and spill, merge, output)
// with the App this package builds.
//
// # Commands
//
// A command is an executable file: a script with a "#!" line or a program
// for the worker's platform. Each task starts its command once and keeps
// it for the whole task:
//
//   - the mapper reads input records on stdin, one per line (for the text
//     and wholefile formats the record's value, for kv "key<TAB>value"),
//     and writes "key<TAB>value" lines on stdout;
//   - the reducer reads its partition's "key<TAB>value" lines on stdin,
//     sorted by key (byte order), and writes output lines on stdout;
//   - the combiner, if any, reads sorted "key<TAB>value" batches of the
//     mapper's output (one process per batch of up to 16 MiB) and writes
//     lines that replace them; like a Combine function it may run zero or
//     more times, so its output must be valid input for itself and the
//     reducer.
//
// A line without a tab is a key with an empty value. Commands also get
// the task's identity in the environment: DIST_TASK_ID, DIST_ATTEMPT,
// DIST_REDUCES, DIST_INPUT_FILE (map tasks) and DIST_PARAM_<name> for
// every job parameter whose name is made of letters, digits and '_'.
// Their stderr goes to the task's stderr.log. They run in the task
// directory, so a side file shipped with `dist run --file PATH` is
// files/NAME, NAME being PATH's base name.
//
// # Pipes
//
// Records go to the command's stdin from a writer goroutine and its stdout
// is read by a reader goroutine, so neither side can block the other
// with a full pipe. Lines come back to the task's own goroutine, which
// alone calls emit (the runtime's Emit is not safe for concurrent use):
// while it waits to hand the writer more input it emits whatever output
// has arrived, and Flush (task.App.Flush) closes stdin and emits the rest.
//
// # Failures
//
// A command that cannot start, exits non-zero, or is killed by a signal
// fails the task with one line naming the command, its exit status and
// the last line of its stderr; the worker retries the attempt like any
// failed task. A command that exits 0 without reading all its input (such
// as head) ends its task early and successfully.
package streaming
