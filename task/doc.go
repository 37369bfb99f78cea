// Package task is what a dist app is written with: the App a user writes,
// the Context its functions get, and Main, which runs it inside a worker's
// task directory. An app is a main package that declares its App and hands
// it to Main:
//
//	var App = task.App{
//		Map: func(ctx *task.Context, key, line string, emit task.Emit) error {
//			for _, w := range strings.Fields(line) {
//				emit(w, "1")
//			}
//			return nil
//		},
//		Reduce: func(ctx *task.Context, word string, counts task.Values, emit task.Emit) error {
//			n := 0
//			for range counts {
//				n++
//			}
//			emit(word, strconv.Itoa(n))
//			return nil
//		},
//	}
//
//	func main() { task.Main(App) }
//
// Declaring App as a variable lets the same source build as a plugin,
// which exports the symbol App. Keep per-task state in the Context
// (Context.SetState), not in package variables: a plugin host runs many
// tasks in one process.
//
// A job run with `dist run --tasks N` instead of --input has N maps with
// no input: Map is called once per task, with the task's index as key
// ("0" to "N-1") and an empty value; Context.Tasks returns N and
// Context.InputFile "".
// Generators use it (userapp/teragen writes its share of the rows, userapp/pi
// draws its samples).
//
// An error from any App function fails the task, which the worker retries
// elsewhere; wrap it with Fatal when no retry can help (a bad parameter).
// Package task/tasktest runs an App over local files, to test it without
// a cluster. What passes between the worker and the program is package
// task/spec.
package task

// How the runtime works, for readers of this package (go doc shows only
// what an app writer needs, above).
//
// # Running
//
// A worker writes the task's spec.Config to task.msgpack in a fresh task
// directory, stages the input under in/, and starts the program with
// DIST_TASK_DIR pointing there (package spec holds that contract). Main
// calls Run, which resolves the input and output formats by name, calls
// Setup, runs the map or reduce phase (ending with Flush, whose emits join
// the task's output), calls Cleanup, and writes result.msgpack: the
// status, counters, and each output file under out/ with its size, record
// count and CRC-32C. Run never exits the process, so a plugin host calls
// it directly.
//
// # Map side
//
// The input format turns the split into records for Map. In a map-only
// job (Reduces == 0) emitted records go through the output format to
// out/part-NNNNN. Otherwise each record goes to partition
// Partition(key, R) in a sort buffer of spec.Config.SortBuffer bytes. A full
// buffer is sorted by partition and key, combined if the app has a
// Combine, and spilled to disk as a run; at the end the runs are merged
// (in passes of at most 64, combining again) into out/map-NNNNN, one
// sorted recordio file per partition, empty partitions included. Memory
// stays near SortBuffer whatever the input size.
//
// An app with a Combine gets a combining buffer instead: records are
// grouped by key in a hash table as they are emitted, a key's equal
// values in a row kept as one run, and each key's values are combined
// once 64 runs of them have gathered, so a key emitted a million times
// costs a table lookup per record and no sorting; only the distinct keys
// are sorted when the buffer spills. Should most keys prove distinct
// (combining does not pay), the task goes back to the sort buffer at the
// first spill. Combine may thus see a key's values in several batches, in
// any grouping; it must emit only the key it is given.
//
// Main (not Run) also lets the garbage collector keep up to 16 MB of
// garbage while the live heap is small (unless GOGC or GOMEMLIMIT is
// set): a map task allocates a string per line and per word, and Go's
// default would collect every few megabytes.
//
// # Reduce side
//
// A reduce task's spec.Config.Inputs are the map output files of its
// partition. They are merged with a heap, and Reduce is called once per
// distinct key in byte order with a Values iterator that streams the
// key's values from the merge. Output goes through the output format to
// out/part-NNNNN.
//
// Every byte read from an input is summed as it is read, and the input
// counts only when its size and CRC-32C at its end are what its map
// reported; its key order and record framing are checked on the way. A
// damaged input fails the task with a *BadInputError, recorded as
// spec.Result.BadInput, so that its map runs again and the reduce is not
// charged. The reduce's output is written but reported only after every
// input was read to a sound end.
//
// # Failures
//
// An error from any App function, a failed read or write (close and
// flush errors included), an unknown format name or a bad config fails
// the task: result.msgpack says "failed" with the error, and Main prints
// one line such as "dist task m-00003: map: open input ...: ..." and exits
// 1. A panic in the app is recovered by Run; Main prints it with its stack
// and exits 2. The worker retries failed attempts elsewhere.
