// Package tracker is the job state machine embedded in `dist run`: it
// turns a job into map and reduce tasks, places their attempts on workers
// with free slots, and decides what to do when an attempt ends.
//
// # Events, not polling
//
// One goroutine (Run) owns all state. Attempt goroutines, registry watches
// and timers only send events to it; it reacts by placing more attempts.
// Nothing polls. Time is an input too (Config.Clock, clock.go): tests
// step it instead of waiting.
//
// # Attempts
//
// A task is the unit of work (map i, reduce p); an attempt is one run of a
// task on one worker. A task is done when one attempt succeeds, and exactly
// that attempt is committed. Failed attempts are retried on another worker
// up to MaxAttempts; a worker that fails too many attempts of the job is no
// longer used by it.
//
// # Early reduces
//
// With Config.EarlyReduces (what dist run uses), reduces take slots as
// soon as no map is waiting for one, and fetch map outputs as they are
// committed (an Attempt's Feed) instead of all at the end; a map that
// finds no slot takes one back from such a reduce. See early.go.
//
// # What the tracker does not know
//
// It never talks to workers itself: a Runner (the client) stages inputs,
// launches the attempt and reports its Outcome, whose Kind says what the
// end means (outcome.go); the tracker only decides what to do next. It does not know about
// files either; map i is just the i-th split the client holds.
package tracker
