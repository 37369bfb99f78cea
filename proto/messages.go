package proto

import (
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
)

// Ops, one per call stream.
const (
	OpInfo           = "Info"
	OpHasArtifact    = "HasArtifact"
	OpPutArtifact    = "PutArtifact"
	OpPutInput       = "PutInput"
	OpLaunch         = "Launch"
	OpKill           = "Kill"
	OpFetchPartition = "FetchPartition"
	OpFetchOutput    = "FetchOutput"
	OpEndJob         = "EndJob"
	OpWaitSlot       = "WaitSlot"
	OpListData       = "ListData"
	OpTaskLogs       = "TaskLogs"
	// OpSubmitJob hands a detached job to a worker's job master host
	// (dist run --detach); OpKillJob asks the host running a job's
	// master to kill the job (dist kill).
	OpSubmitJob = "SubmitJob"
	OpKillJob   = "KillJob"
)

// NonceSize is the length of each side's handshake nonce.
const NonceSize = 32

// Hello opens the handshake (client to worker).
type Hello struct {
	Proto   int    `msgpack:"proto"`
	Version string `msgpack:"version"`
	Nonce   []byte `msgpack:"nonce"`
}

// Welcome answers Hello (worker to client).
type Welcome struct {
	Proto    int    `msgpack:"proto"`
	Version  string `msgpack:"version"`
	WorkerID string `msgpack:"worker_id"`
	Nonce    []byte `msgpack:"nonce"`
	Proof    []byte `msgpack:"proof"`
	Error    *Error `msgpack:"error"`
}

// Proof is the client's answer to the worker's challenge.
type Proof struct {
	Proof []byte `msgpack:"proof"`
}

// Ready ends the handshake; a nil Error admits the client.
type Ready struct {
	Error *Error `msgpack:"error"`
}

// Header opens every call stream.
type Header struct {
	Op  string `msgpack:"op"`
	Job string `msgpack:"job"`
}

// Reply is the generic reply of calls that return nothing but success.
type Reply struct {
	Error *Error `msgpack:"error"`
}

// InfoRequest asks a worker to describe itself.
type InfoRequest struct{}

// InfoReply describes a worker.
type InfoReply struct {
	Info    registry.WorkerInfo `msgpack:"info"`
	Running int                 `msgpack:"running"`
	Error   *Error              `msgpack:"error"`
}

// ArtifactRequest is HasArtifact's request.
type ArtifactRequest struct {
	SHA256 string `msgpack:"sha256"`
}

// HasArtifactReply says whether the worker's cache holds an artifact.
type HasArtifactReply struct {
	Present bool   `msgpack:"present"`
	Error   *Error `msgpack:"error"`
}

// PutArtifactRequest announces an artifact body of Size bytes.
type PutArtifactRequest struct {
	SHA256 string `msgpack:"sha256"`
	Size   int64  `msgpack:"size"`
}

// AttemptRef names one task attempt of a job.
type AttemptRef struct {
	Job     string `msgpack:"job"`
	Task    string `msgpack:"task"`
	Attempt int    `msgpack:"attempt"`
}

// PutInputRequest announces a map attempt's input split of Size bytes.
type PutInputRequest struct {
	AttemptRef
	Size int64 `msgpack:"size"`
}

// Artifact kinds.
const (
	KindBinary = "binary"
	KindPlugin = "plugin"
	KindExec   = "exec"
	// KindFile is a side file (dist run --file): data, never run.
	KindFile = "file"
)

// Roles of the commands of an exec job.
const (
	RoleMapper   = "mapper"
	RoleReducer  = "reducer"
	RoleCombiner = "combiner"
)

// ArtifactRef names the program an attempt runs.
type ArtifactRef struct {
	SHA256 string `msgpack:"sha256"`
	Kind   string `msgpack:"kind"`
	Name   string `msgpack:"name"` // base name the user gave, for messages
	// Role says what a command of an exec job does: RoleMapper,
	// RoleReducer or RoleCombiner. Empty for binaries and plugins.
	Role string `msgpack:"role,omitempty"`
}

// MapOutput locates one map attempt's partition file for a reducer.
type MapOutput struct {
	WorkerID  string `msgpack:"worker_id"`
	Addr      string `msgpack:"addr"`
	Task      string `msgpack:"task"`
	Attempt   int    `msgpack:"attempt"`
	Partition int    `msgpack:"partition"`
	Size      int64  `msgpack:"size"`
	CRC32C    uint32 `msgpack:"crc32c"`
}

// LaunchRequest runs one task attempt.
type LaunchRequest struct {
	Config spec.Config `msgpack:"config"`
	// Artifact is what the attempt runs: the binary or plugin, or for an
	// exec job the command of the attempt's phase (its mapper or reducer).
	Artifact ArtifactRef `msgpack:"artifact"`
	// Extra lists further artifacts the attempt needs, each shipped like
	// Artifact: an exec job's combiner, for a map.
	Extra []ArtifactRef `msgpack:"extra,omitempty"`
	// Files lists the job's side files, each of kind KindFile, shipped
	// like Artifact and placed in the attempt's spec.FilesDir under its
	// Name, which must be a spec.ValidName; no two may share a Name.
	Files []ArtifactRef `msgpack:"files,omitempty"`
	Fetch []MapOutput   `msgpack:"fetch"`
	// Input, for a map whose split the client does not send (PutInput),
	// says where the worker reads it.
	Input *InputSource `msgpack:"input,omitempty"`
	// Output, when set, says where the attempt's part goes besides the
	// worker's own out/ (which FetchOutput serves).
	Output *OutputTarget `msgpack:"output,omitempty"`
	// Maps is, for a reduce launched before every map finished or whose
	// map outputs are too many for one request, the number of map tasks
	// whose output it needs; the rest arrive in FetchMore frames on the
	// launch stream. 0 means Fetch is complete.
	Maps int `msgpack:"maps,omitempty"`
	// Hosted says the job's master may be replaced (a submitted job, dist
	// run --detach): when its session closes, the worker kills the job's
	// running attempts but keeps its finished ones' outputs for a while,
	// for the master that takes the job over.
	Hosted bool `msgpack:"hosted,omitempty"`
}

// FetchMore is what a client sends on the launch stream of a streamed
// reduce (LaunchRequest.Maps > 0): map outputs that became available, and
// map tasks whose output was lost and will be made again.
type FetchMore struct {
	Fetch []MapOutput `msgpack:"fetch,omitempty"`
	Lost  []string    `msgpack:"lost,omitempty"`
}

// Event kinds on a launch stream.
const (
	EventStaging = "staging"
	EventRunning = "running"
	EventDone    = "done"
)

// Event reports an attempt's progress; the last one has Final set.
type Event struct {
	Kind       string       `msgpack:"kind"`
	Final      bool         `msgpack:"final"`
	Result     *spec.Result `msgpack:"result"`
	StderrTail string       `msgpack:"stderr_tail"`
	ExitCode   int          `msgpack:"exit_code"`
	// MissingMap names the map task whose output a reduce could not fetch
	// (error code fetch_failed) or found damaged (code checksum: not the
	// size or CRC-32C its map reported, out of order or undecodable,
	// whether at the fetch or as the reduce read it), so the tracker can
	// run it again.
	MissingMap string `msgpack:"missing_map,omitempty"`
	// MissingAttempt is the attempt of MissingMap that could not be
	// fetched.
	MissingAttempt int    `msgpack:"missing_attempt,omitempty"`
	Error          *Error `msgpack:"error"`
	// Upload is, for a launch with an S3 Output, the attempt's part as an
	// uploaded but uncompleted multipart upload: the job commit completes
	// it or aborts it.
	Upload *Upload `msgpack:"upload,omitempty"`
	// Placed says the attempt's part was written to a Local Output's
	// directory: the client has nothing to fetch.
	Placed bool `msgpack:"placed,omitempty"`
}

// InputSource says where a map's split lives when the client does not
// send it. Kind is a storage.Kind.
type InputSource struct {
	Kind string `msgpack:"kind"`
	// Name is, for "local", the absolute path on the client's host; for
	// "s3", s3://BUCKET/KEY; for "worker", the path under the worker's
	// --data-dir.
	Name string `msgpack:"name"`
	// Offset and Length give the split's byte range in the object.
	Offset int64 `msgpack:"offset"`
	Length int64 `msgpack:"length"`
	// Size and Version are the object's as listed when the job started
	// (storage.Object); the reader refuses an object that no longer has
	// them.
	Size    int64  `msgpack:"size"`
	Version string `msgpack:"version"`
	// Lines says the range was not cut at line ends: the split is the
	// lines that start inside it (storage.OwnedLines). Without it the
	// range is exact.
	Lines bool `msgpack:"lines,omitempty"`
	// Host is, for "local", the client's storage.HostID: only a worker on
	// the same host reads the file in place.
	Host string `msgpack:"host,omitempty"`
	// Pieces, when set, are whole files of Kind packed into one split
	// (spec.Split.Pieces), which the worker stages one after another;
	// Name, Offset, Length, Size and Version are then zero, so a worker
	// built before packing refuses the input instead of reading one file.
	Pieces []Piece `msgpack:"pieces,omitempty"`
}

// Piece is one whole file of a packed input, named as InputSource.Name
// names a file of its kind, with its size and version as listed.
type Piece struct {
	Name    string `msgpack:"name"`
	Size    int64  `msgpack:"size"`
	Version string `msgpack:"version"`
}

// OutputTarget says where an attempt's part goes. Kind is a storage.Kind:
// "local" or "s3".
type OutputTarget struct {
	// Name is, for "local", the attempt's staging directory on the
	// client's host (absolute); for "s3", s3://BUCKET/KEY of the part.
	Name string `msgpack:"name"`
	Kind string `msgpack:"kind"`
	// Host is, for "local", the client's storage.HostID.
	Host string `msgpack:"host,omitempty"`
}

// Upload is an S3 multipart upload a task attempt made and left
// uncompleted.
type Upload struct {
	Name     string       `msgpack:"name"` // s3://BUCKET/KEY
	UploadID string       `msgpack:"upload_id"`
	Parts    []UploadPart `msgpack:"parts"`
	Size     int64        `msgpack:"size"`
	CRC32C   uint32       `msgpack:"crc32c"`
}

// UploadPart is one part of an Upload.
type UploadPart struct {
	Number int    `msgpack:"number"`
	ETag   string `msgpack:"etag"`
	Size   int64  `msgpack:"size"`
}

// ListDataRequest asks a worker which files under its --data-dir match
// Patterns (globs relative to the data dir, as given after "worker:").
type ListDataRequest struct {
	Patterns []string `msgpack:"patterns"`
}

// DataFile is one file under a worker's --data-dir.
type DataFile struct {
	Path    string `msgpack:"path"` // relative to the data dir
	Size    int64  `msgpack:"size"`
	ModTime int64  `msgpack:"mod_time"` // nanoseconds since the epoch
}

// ListDataReply lists the matches, sorted by Path.
type ListDataReply struct {
	Files []DataFile `msgpack:"files"`
	Error *Error     `msgpack:"error"`
}

// TaskLogsRequest asks a worker for the stderr of a job's attempts it
// still keeps: Task "" means every task; "master" is the job master's own
// log, if this worker hosts it.
type TaskLogsRequest struct {
	Job  string `msgpack:"job"`
	Task string `msgpack:"task"`
}

// AttemptLog is the stderr of one attempt, its last MaxTaskLog bytes;
// Truncated says the start was cut.
type AttemptLog struct {
	Task      string `msgpack:"task"`
	Attempt   int    `msgpack:"attempt"`
	Stderr    []byte `msgpack:"stderr"`
	Truncated bool   `msgpack:"truncated"`
}

// MaxTaskLog bounds each AttemptLog's Stderr.
const MaxTaskLog = 64 << 10

// TaskLogsReply holds logs, sorted by task and attempt; none when the
// worker keeps nothing of the job. A job's logs may not fit one frame:
// More says another reply frame follows on the stream.
type TaskLogsReply struct {
	Logs  []AttemptLog `msgpack:"logs"`
	More  bool         `msgpack:"more"`
	Error *Error       `msgpack:"error"`
}

// KillRequest kills one running attempt.
type KillRequest struct {
	AttemptRef
}

// FetchPartitionRequest asks for one partition of a finished map attempt.
type FetchPartitionRequest struct {
	AttemptRef
	Partition int `msgpack:"partition"`
}

// FetchOutputRequest asks for one file of an attempt's out/ directory.
type FetchOutputRequest struct {
	AttemptRef
	Name string `msgpack:"name"`
}

// BodyReply precedes a body of Size bytes.
type BodyReply struct {
	Size   int64  `msgpack:"size"`
	CRC32C uint32 `msgpack:"crc32c"`
	Error  *Error `msgpack:"error"`
}

// EndJobRequest removes a job's task directories.
type EndJobRequest struct {
	Job string `msgpack:"job"`
}

// WaitSlotRequest asks a worker that refused a launch as busy to answer
// once it has a slot for the job (see docs/PROTOCOL.md, "Sharing
// workers").
type WaitSlotRequest struct {
	Job string `msgpack:"job"`
}

// WaitSlotReply says a slot is reserved for the job for a short lease
// (LeaseMillis): a Launch of the job there takes it.
type WaitSlotReply struct {
	// Free is how many slots the job may take now, the reserved one
	// included.
	Free        int    `msgpack:"free"`
	LeaseMillis int64  `msgpack:"lease_ms"`
	Error       *Error `msgpack:"error"`
}

// JobFile is one program or side file of a detached job, shipped before
// as an artifact (PutArtifact).
type JobFile struct {
	// Flag is the dist run flag the file was given with: "app",
	// "mapper", "reducer", "combiner" or "file".
	Flag string `msgpack:"flag"`
	// Name is the file's base name, a spec.ValidName: a side file is
	// opened by it, a program is named by it in messages.
	Name string `msgpack:"name"`
	SHA  string `msgpack:"sha256"`
	Size int64  `msgpack:"size"`
}

// JobSpec is what a job master needs to run a detached job: the job's
// dist run flags and its files. It holds no credentials.
type JobSpec struct {
	ID   string `msgpack:"id"`
	User string `msgpack:"user"`
	// Args are the job's dist run flags as "--name=value", only those
	// worker/master.DetachableFlags allows.
	Args     []string  `msgpack:"args"`
	Programs []JobFile `msgpack:"programs"`
}

// SubmitJobRequest asks a worker to host a detached job's master.
type SubmitJobRequest struct {
	Spec JobSpec `msgpack:"spec"`
}

// SubmitJobReply says the job was recorded and which worker hosts its
// master (its address).
type SubmitJobReply struct {
	Job    string `msgpack:"job"`
	Master string `msgpack:"master"`
	Error  *Error `msgpack:"error"`
}

// KillJobRequest asks the worker hosting a job's master to kill the job.
type KillJobRequest struct {
	Job string `msgpack:"job"`
}
