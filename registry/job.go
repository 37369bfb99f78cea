package registry

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// JobState is where a detached job is in its life.
type JobState string

const (
	JobSubmitted JobState = "submitted" // recorded; no master has started it
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
	JobKilled    JobState = "killed"
)

// Ended reports a final state: nothing runs the job any more.
func (s JobState) Ended() bool {
	return s == JobSucceeded || s == JobFailed || s == JobKilled
}

// JobProgress is the counters a job's master keeps in its record.
type JobProgress struct {
	Maps          int   `msgpack:"maps"`
	MapsDone      int   `msgpack:"maps_done"`
	Reduces       int   `msgpack:"reduces"`
	ReducesDone   int   `msgpack:"reduces_done"`
	Running       int   `msgpack:"running"`        // attempts running now
	Failed        int   `msgpack:"failed"`         // attempts that failed so far
	Workers       int   `msgpack:"workers"`        // workers that have run an attempt
	BytesShuffled int64 `msgpack:"bytes_shuffled"` // bytes the committed reduces fetched
}

// JobRecord is a detached job's record, msgpack-encoded in the node
// <root>/jobs/<id>. It holds no credentials and nothing from the task
// environment: anyone who can read the registry can read it.
type JobRecord struct {
	ID     string   `msgpack:"id"`
	User   string   `msgpack:"user"`
	App    string   `msgpack:"app"`
	Inputs []string `msgpack:"inputs"`
	Output string   `msgpack:"output"`
	State  JobState `msgpack:"state"`
	// Master and MasterID are the address and worker id of the worker
	// whose master runs the job now; "" while none does.
	Master   string `msgpack:"master,omitempty"`
	MasterID string `msgpack:"master_id,omitempty"`
	// UI is the live page the master serves; "" if none.
	UI        string      `msgpack:"ui,omitempty"`
	Submitted time.Time   `msgpack:"submitted"`
	Started   time.Time   `msgpack:"started,omitempty"`
	Ended     time.Time   `msgpack:"ended,omitempty"`
	Progress  JobProgress `msgpack:"progress"`
	// Summary is the summary lines `dist run` printed, once it succeeded.
	Summary []string `msgpack:"summary,omitempty"`
	// Counters are the job's counters ("map.input.records", the app's
	// own), once it succeeded.
	Counters map[string]int64 `msgpack:"counters,omitempty"`
	// Error says why the job failed or was killed.
	Error string `msgpack:"error,omitempty"`
	// Takeovers counts the times another master took the job over.
	Takeovers     int  `msgpack:"takeovers,omitempty"`
	KillRequested bool `msgpack:"kill_requested,omitempty"`
}

// maxJobData bounds the bytes decoded from one job node: ZooKeeper's own
// limit on a node (jute.maxbuffer, 1 MiB by default).
const maxJobData = 1 << 20

// jobNode is what a job node holds: the record and the token of the write
// that stored it, by which a writer whose request was retried after a
// connection loss recognizes its own write.
type jobNode struct {
	Record JobRecord `msgpack:"record"`
	Write  uint64    `msgpack:"write"`
}

// encodeJob is the data of a job node holding rec, written under token.
func encodeJob(rec JobRecord, token uint64) ([]byte, error) {
	b, err := msgpack.Marshal(&jobNode{Record: rec, Write: token})
	if err != nil {
		return nil, fmt.Errorf("encoding job %q: %w", rec.ID, err)
	}
	if len(b) > maxJobData {
		return nil, fmt.Errorf("job %q: the record is %d bytes, more than ZooKeeper's %d: shorten its summary", rec.ID, len(b), maxJobData)
	}
	return b, nil
}

// decodeJob decodes the data of the node of job id. Errors wrap
// ErrMalformedJob.
func decodeJob(id string, data []byte) (jobNode, error) {
	var n jobNode
	if len(data) == 0 {
		return n, fmt.Errorf("%w %q: empty", ErrMalformedJob, id)
	}
	if len(data) > maxJobData {
		return n, fmt.Errorf("%w %q: %d bytes, more than %d", ErrMalformedJob, id, len(data), maxJobData)
	}
	if err := unmarshal(data, &n); err != nil {
		return jobNode{}, fmt.Errorf("%w %q: %v", ErrMalformedJob, id, err)
	}
	if n.Record.ID != id {
		return jobNode{}, fmt.Errorf("%w %q: it holds job id %q", ErrMalformedJob, id, n.Record.ID)
	}
	return n, nil
}

// writeToken is a random token naming one write.
func writeToken() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// validName checks that s (what) can name one ZooKeeper node.
func validName(what, s string) error {
	if strings.Contains(s, "/") {
		return fmt.Errorf("%w: %s %q contains '/'", ErrInvalidName, what, s)
	}
	if err := validateName(s); err != nil {
		return fmt.Errorf("%w: %s %q: %v", ErrInvalidName, what, s, err)
	}
	return nil
}

// sortJobs orders records by Submitted, then ID.
func sortJobs(jobs []JobRecord) {
	slices.SortFunc(jobs, func(a, b JobRecord) int {
		if c := a.Submitted.Compare(b.Submitted); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
