package client

import (
	"errors"
	"fmt"
	"sort"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/tracker"
)

// The tracker sees a worker the client could not connect to as lost, so
// a job whose every worker refused it (a wrong or missing --secret-file,
// TLS, another protocol version) would end with "no usable workers: 3
// known, all lost". The client knows why: this file words it.

// noteDialError records why dialing worker id failed.
func (p *pool) noteDialError(id string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dialErrs == nil {
		p.dialErrs = map[string]error{}
	}
	p.dialErrs[id] = err
}

// dialErrors returns the errors met dialing workers, in worker id order,
// and how many workers the client tried to connect to.
func (p *pool) dialErrors() (errs []error, tried int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]string, 0, len(p.dialErrs))
	for id := range p.dialErrs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		errs = append(errs, p.dialErrs[id])
	}
	return errs, len(p.conns)
}

// explainNoWorkers adds to a job's "no usable workers" error the reason
// the client could not connect to workers, when it met one: instead of
// the tracker's account when no worker took the client at all, after it
// when some did.
func explainNoWorkers(err error, p *pool) error {
	if !errors.Is(err, tracker.ErrNoWorkers) {
		return err
	}
	errs, tried := p.dialErrors()
	if len(errs) == 0 {
		return err
	}
	if len(errs) < tried {
		return fmt.Errorf("%w; %w", err, refused(errs, tried))
	}
	return fmt.Errorf("%w: %w", tracker.ErrNoWorkers, refused(errs, tried))
}

// refused words, as one line, that errs kept the client from connecting to
// len(errs) of total workers: the reason to fix first (a refused secret,
// which the client can fix, over a worker that is down) and how many more
// failed.
func refused(errs []error, total int) error {
	first := errs[0]
	for _, err := range errs {
		if proto.IsAuth(err) {
			first = err
			break
		}
	}
	who := fmt.Sprintf("could not connect to %d of %d workers", len(errs), total)
	switch {
	case len(errs) == total && total == 1:
		who = "could not connect to the only worker"
	case len(errs) == total:
		who = fmt.Sprintf("could not connect to any of the %d workers", total)
	}
	return fmt.Errorf("%s: %w", who, first)
}
