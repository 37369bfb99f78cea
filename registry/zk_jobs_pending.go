package registry

import (
	"context"
	"errors"
	"time"
)

// The methods below are being written on branch jobrec; their signatures
// are final.

var errPending = errors.New("not implemented yet on this branch")

// maxChunk bounds one plan chunk, the spec and a journal entry.
const maxChunk = 512 << 10

func (z *ZK) WatchJob(ctx context.Context, id string) (<-chan JobRecord, error) {
	return nil, errPending
}
func (z *ZK) WatchJobs(ctx context.Context) (<-chan []string, error)       { return nil, errPending }
func (z *ZK) PutJobPlan(ctx context.Context, id string, plan []byte) error { return errPending }
func (z *ZK) JobPlan(ctx context.Context, id string) ([]byte, bool, error) {
	return nil, false, errPending
}
func (z *ZK) JournalTask(ctx context.Context, id, task string, entry []byte) error {
	return errPending
}
func (z *ZK) JobJournal(ctx context.Context, id string) (map[string][]byte, error) {
	return nil, errPending
}
func (z *ZK) ExpireJobs(ctx context.Context, retention time.Duration, now time.Time) (int, error) {
	return 0, errPending
}

// Candidacy is one candidate's bid to run a job.
type Candidacy struct{ candidate string }

func (z *ZK) Campaign(ctx context.Context, id, candidate string) (*Candidacy, error) {
	return nil, errPending
}
func (c *Candidacy) Leading() <-chan struct{}         { return nil }
func (c *Candidacy) Lost() <-chan struct{}            { return nil }
func (c *Candidacy) Candidate() string                { return c.candidate }
func (c *Candidacy) Resign(ctx context.Context) error { return errPending }
