// Package registry knows which workers are alive. A ZooKeeper
// implementation serves real clusters; Static and Memory serve
// `--workers` and `--local`.
//
// # Interfaces
//
// A worker needs a [Registrar]: Register publishes its [WorkerInfo] and
// keeps it published, Deregister withdraws it. A client needs a [Lister]:
// Workers returns the workers alive now, Watch sends the full set every
// time it changes. Sets are sorted by worker ID.
//
// # ZooKeeper
//
// [NewZK] connects to "host:port[,host:port...][/chroot]". Without a
// chroot the registry lives under /dist; with one, the chroot path is the
// root instead (so "zk1:2181/myjobs" uses /myjobs). Each worker is one
// ephemeral node <root>/workers/<id> holding its msgpack-encoded
// WorkerInfo:
//
//	/dist                 persistent, created on first Register
//	/dist/workers         persistent, created on first Register
//	/dist/workers/w1      ephemeral, msgpack(WorkerInfo{ID: "w1", ...})
//
// The node lives as long as the worker's ZooKeeper session. A connection
// loss shorter than the session timeout keeps it. A longer one expires the
// session and ZooKeeper deletes the node; the ZK registrar notices the new
// session and registers again on its own. A node left by an older session
// of the same worker ID (a worker restarted before its old session timed
// out) is replaced.
//
// Watchers see a deleted node as a lost worker. While the connection is
// down, Watch keeps the last set it sent and lists again on reconnect.
//
// # Jobs
//
// Detached jobs (issue 14) are recorded beside the workers, one
// persistent node per job, created by [ZK.CreateJob] in one transaction:
//
//	/dist/jobs/<id>                   msgpack JobRecord (state, master, progress)
//	/dist/jobs/<id>/spec              the job as submitted
//	/dist/jobs/<id>/plan              marker: writer, chunks, size, sha256
//	/dist/jobs/<id>/plan/<w>-00000    plan chunks of at most 512 KiB
//	/dist/jobs/<id>/journal/<task>    one small entry per committed task
//	/dist/jobs/<id>/masters/c-<w>-N   ephemeral sequential: the election
//
// [ZK.UpdateJob] is a compare-and-set on the record's version, so
// concurrent writers lose no update. [ZK.WatchJob] and [ZK.WatchJobs]
// follow records with ZooKeeper watches. [ZK.Campaign] elects a job's
// master: the lowest live candidate leads, each other one watches the
// candidate just below it. [ZK.ExpireJobs] deletes ended jobs past their
// retention. Job nodes get the same ACL as worker nodes.
//
// # Static and Memory
//
// [Static] serves `--workers ADDR,...`: one WorkerInfo per address with ID
// and Addr set to the address; the client fills in the rest with an Info
// call. [Memory] serves `--local` and tests: [Memory.Add] and
// [Memory.Remove] change the set directly, and [Memory.Registrar] gives
// each in-process worker its own Registrar.
//
// # Lifetimes
//
// ZK, Memory and Static have an idempotent Close that stops every
// goroutine they started (keepers and watchers) and waits for them. A
// Watch channel also closes when its context ends.
package registry
