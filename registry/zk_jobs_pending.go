package registry

import (
	"context"
	"errors"
	"time"
)

// The methods below are being written on branch jobrec; their signatures
// are final.

var errPending = errors.New("not implemented yet on this branch")

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
