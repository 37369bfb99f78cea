package registry

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Electing a job's master. Each candidate creates an ephemeral sequential
// node <id>/masters/c-<candidate>-<sequence>; the candidate whose node has
// the lowest sequence leads. Each other candidate watches only the node
// just below its own (no herd when a leader goes): when that one goes, it
// lists again and either leads or watches the next one down.
//
// A candidate has lost when its node is gone (deleted, or its session
// expired), and also when it has been cut off from ZooKeeper for a third
// of the session timeout: go-zookeeper notices a silent cut only after two
// thirds of the timeout, and the server may expire the session, so that
// another candidate leads, once the rest has passed. A candidate that has
// lost must stop acting as the job's master at once.

// Candidacy is one candidate's bid to be a job's master, from Campaign
// until Resign, Close or the end of Campaign's context.
type Candidacy struct {
	z         *ZK
	job       string
	candidate string
	node      string // its ephemeral sequential node
	seq       int64
	owner     int64 // the session that created the node

	leading  chan struct{}
	leadOnce sync.Once
	lost     chan struct{}
	lostOnce sync.Once

	cancel context.CancelFunc
	exited chan struct{} // closed when run returns
	err    error         // deleting the node at the end; set before exited closes
}

// seqDigits is the width of ZooKeeper's sequence suffix.
const seqDigits = 10

// Campaign enters candidate (a worker id) in the election of job id's
// master and returns at once; Leading says when it leads. ctx bounds the
// candidacy: when it ends the candidacy resigns, as with Resign. ErrNoJob
// if the job is gone.
func (z *ZK) Campaign(ctx context.Context, id, candidate string) (*Candidacy, error) {
	if err := validName("job id", id); err != nil {
		return nil, err
	}
	if err := validName("candidate", candidate); err != nil {
		return nil, err
	}
	dir := z.spec.JobPath(id) + "/masters"
	prefix := "c-" + candidate + "-"
	token := []byte(strconv.FormatUint(writeToken(), 16))
	var (
		node     string
		owner    int64
		attempts int
	)
	err := z.write(ctx, func() error {
		attempts++
		if attempts > 1 {
			// The connection failed during a create: it may have landed.
			names, _, err := z.conn.Children(dir)
			if err != nil {
				return err
			}
			for _, name := range names {
				if !strings.HasPrefix(name, prefix) {
					continue
				}
				data, stat, err := z.conn.Get(dir + "/" + name)
				if err == nil && string(data) == string(token) {
					node, owner = dir+"/"+name, stat.EphemeralOwner
					return nil
				}
			}
		}
		owner = z.conn.SessionID()
		var err error
		node, err = z.conn.Create(dir+"/"+prefix, token, zk.FlagEphemeral|zk.FlagSequence, z.acl())
		return err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, fmt.Errorf("campaigning for job %q: %w", id, ErrNoJob)
	}
	if err != nil {
		return nil, fmt.Errorf("campaigning for job %q under %s: %w", id, dir, zkAuthErr(err))
	}
	seq, ok := candidateSeq(path.Base(node))
	if !ok {
		return nil, fmt.Errorf("campaigning for job %q: ZooKeeper named the node %s: no sequence", id, node)
	}
	if err := z.enter(); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	c := &Candidacy{
		z: z, job: id, candidate: candidate, node: node, seq: seq, owner: owner,
		leading: make(chan struct{}),
		lost:    make(chan struct{}),
		cancel:  cancel,
		exited:  make(chan struct{}),
	}
	z.mu.Lock()
	if z.cands == nil {
		z.cands = make(map[*Candidacy]struct{})
	}
	z.cands[c] = struct{}{}
	z.mu.Unlock()
	go c.run(lctx)
	z.log.Debug("campaigning for a job", "job", id, "candidate", candidate, "node", node)
	return c, nil
}

// Candidate is the candidate's name, as given to Campaign.
func (c *Candidacy) Candidate() string { return c.candidate }

// Leading is closed once the candidate leads: its node is the lowest.
func (c *Candidacy) Leading() <-chan struct{} { return c.leading }

// Lost is closed when the candidacy is over: its node or session is gone,
// or it was cut off from ZooKeeper too long, or it resigned. A leader
// must stop acting at once.
func (c *Candidacy) Lost() <-chan struct{} { return c.lost }

// Resign ends the candidacy and deletes its node if it is still there,
// so that the next candidate leads. It is idempotent.
func (c *Candidacy) Resign(ctx context.Context) error {
	c.cancel()
	select {
	case <-c.exited:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Candidacy) lose(why string) {
	c.lostOnce.Do(func() {
		close(c.lost)
		c.z.log.Info("job master candidacy over", "job", c.job, "candidate", c.candidate, "why", why)
	})
}

// run follows the election until the candidacy is lost or ctx ends, then
// deletes the node.
func (c *Candidacy) run(ctx context.Context) {
	z := c.z
	defer z.wg.Done()
	defer close(c.exited)
	defer func() {
		z.mu.Lock()
		delete(z.cands, c)
		z.mu.Unlock()
	}()
	ctx, stop := context.WithCancel(ctx)
	guarded := make(chan struct{})
	go func() {
		defer close(guarded)
		c.guardSession(ctx)
		stop() // lost: end the election loop
	}()
	c.follow(ctx)
	stop()
	<-guarded
	c.lose("resigned")
	c.err = c.drop()
}

// guardSession returns when the session that owns the node is gone or
// the connection has been down for a third of the session timeout, or
// when ctx ends.
func (c *Candidacy) guardSession(ctx context.Context) {
	var cutoff <-chan time.Time
	for {
		state, _, changed := c.z.sess.get()
		sid := c.z.conn.SessionID()
		switch {
		case state == zk.StateExpired:
			c.lose("the ZooKeeper session expired")
			return
		case state == zk.StateHasSession && sid != c.owner:
			c.lose("the ZooKeeper session was replaced")
			return
		case state == zk.StateHasSession:
			cutoff = nil
		case cutoff == nil:
			cutoff = time.After(c.z.sessionTimeout / 3)
		}
		select {
		case <-changed:
		case <-cutoff:
			c.lose(fmt.Sprintf("cut off from ZooKeeper for %v: the session may expire", c.z.sessionTimeout/3))
			return
		case <-ctx.Done():
			return
		case <-c.z.done:
			c.lose("the registry closed")
			return
		}
	}
}

// follow lists the candidates and leads or watches the one below, until
// the node is gone or ctx ends.
func (c *Candidacy) follow(ctx context.Context) {
	z := c.z
	dir := path.Dir(c.node)
	var own <-chan zk.Event // a watch on the node, kept until it fires
	for {
		if own == nil {
			var exists bool
			var err error
			exists, own, err = z.existsW(ctx, c.node) // own is nil on an error
			if err == nil && !exists {
				c.lose("its node was deleted")
				return
			}
			if err != nil {
				if !c.retryable(ctx, err) || z.pause(ctx, republishPause) != nil {
					return
				}
				continue
			}
		}
		below, err := c.below(ctx, dir)
		if !c.retryable(ctx, err) {
			return
		}
		var prev <-chan zk.Event
		if err == nil && below == "" {
			c.leadOnce.Do(func() {
				close(c.leading)
				z.log.Info("leading job", "job", c.job, "candidate", c.candidate, "node", c.node)
			})
		} else if err == nil {
			var exists bool
			exists, prev, err = z.existsW(ctx, dir+"/"+below)
			if !c.retryable(ctx, err) {
				return
			}
			if err == nil && !exists {
				continue // gone meanwhile: list again
			}
		}
		if err != nil {
			if z.pause(ctx, republishPause) != nil {
				return
			}
			continue
		}
		select {
		case <-own:
			own = nil
		case <-prev:
		case <-ctx.Done():
			return
		case <-z.done:
			return
		}
	}
}

// existsW reports whether node exists and leaves a watch on it.
func (z *ZK) existsW(ctx context.Context, node string) (bool, <-chan zk.Event, error) {
	type answer struct {
		exists bool
		watch  <-chan zk.Event
	}
	a, err := readValue(ctx, z, func() (answer, error) {
		exists, _, watch, err := z.conn.ExistsW(node)
		return answer{exists, watch}, err
	})
	return a.exists, a.watch, err
}

// retryable reports whether the loop should go on after err: nil, or a
// failure worth another try (logged).
func (c *Candidacy) retryable(ctx context.Context, err error) bool {
	if err == nil {
		return true
	}
	if stopped(err) || ctx.Err() != nil {
		return false
	}
	c.z.log.Warn("following a job's election failed; retrying", "job", c.job, "err", err)
	return true
}

// below names the candidate node just below this one; "" if none (it
// leads). The node itself missing is not checked here: the watch on it
// says so.
func (c *Candidacy) below(ctx context.Context, dir string) (string, error) {
	names, err := c.z.children(ctx, dir)
	if err != nil {
		return "", err
	}
	best, bestSeq := "", int64(-1)
	for _, name := range names {
		seq, ok := candidateSeq(name)
		if ok && seq < c.seq && seq > bestSeq {
			best, bestSeq = name, seq
		}
	}
	return best, nil
}

// drop deletes the node if this session still owns it. It keeps trying
// while ZooKeeper is out of reach and the session that made the node may
// live on: a session outlives an outage of any length when the server
// restarts (it restores its sessions, their timeouts afresh), and a node
// left under a live session would stay below every later candidate, so
// that none leads again. It stops once that session is gone (its end
// removes the node) or the registry closes.
func (c *Candidacy) drop() error {
	z := c.z
	for {
		ctx, cancel := context.WithTimeout(context.Background(), z.sessionTimeout)
		err := z.write(ctx, func() error {
			ok, stat, err := z.conn.Exists(c.node)
			if err != nil || !ok || stat.EphemeralOwner != z.conn.SessionID() {
				return err // gone, or another session's: the session's end removes it
			}
			return z.conn.Delete(c.node, stat.Version)
		})
		cancel()
		if err == nil || errors.Is(err, zk.ErrNoNode) || errors.Is(err, ErrClosed) {
			return nil
		}
		if !errors.Is(err, context.DeadlineExceeded) || c.sessionGone() {
			return fmt.Errorf("resigning from job %q: deleting %s: %w", c.job, c.node, err)
		}
		z.log.Warn("resigning from a job's election: ZooKeeper out of reach; trying again", "job", c.job, "node", c.node)
	}
}

// sessionGone reports whether the session that made the node has ended.
func (c *Candidacy) sessionGone() bool {
	state, _, _ := c.z.sess.get()
	return state == zk.StateExpired || state == zk.StateHasSession && c.z.conn.SessionID() != c.owner
}

// candidateSeq parses the sequence suffix of a candidate node's name.
func candidateSeq(name string) (int64, bool) {
	if !strings.HasPrefix(name, "c-") || len(name) < seqDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(name[len(name)-seqDigits:], 10, 64)
	return n, err == nil && n >= 0
}
