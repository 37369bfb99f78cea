// Package taskhost is the program side of the two kinds of artifact that
// are not a task binary: Go plugins and streaming commands. A worker runs
// its own executable in a hidden mode (`dist task-host --plugin PATH` or
// `dist task-host --exec --mapper PATH ...`) as the task process, in the
// task directory and with the task environment a binary would get; this
// package then loads the plugin's App, or builds the streaming App, and
// hands it to task.Main, the same driver a binary app runs.
//
// The worker daemon never loads a plugin itself: a plugin cannot be
// unloaded, and its crash would take the daemon with it. Each plugin task
// gets a fresh host process, which exits when the task ends.
//
// A plugin that cannot be loaded (the worker checks it first, so this is
// defense in depth) fails its task for good: result.msgpack says failed
// and fatal, so the job ends at once instead of retrying.
package taskhost
