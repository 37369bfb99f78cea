package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/io/storage/s3store"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// An S3 output, s3://BUCKET/PREFIX, is committed in the manner of Hadoop's
// S3A "magic" committer: every attempt that produces a part uploads it
// itself (the worker, with its own credentials) as a multipart upload to
// PREFIX/part-NNNNN, and leaves it uncompleted, which no reader sees. The
// job commit completes exactly one attempt's upload per task, aborts the
// others, removes parts an earlier output had that this one does not, and
// writes _SUCCESS last. The manifest is the truth: a part it does not
// list is not output. While the job runs it holds PREFIX/_dist-lock
// (s3store.Lock); a job that dies leaves its uploads behind, and the next
// job on the output, holding the lock, aborts every incomplete upload
// under PREFIX/ before it starts.

// s3Output is one job's S3 output while the job runs.
type s3Output struct {
	store *s3store.Store
	url   string // s3://BUCKET/PREFIX, without a trailing slash
	job   string

	// resumed are the upload ids of the journal's uploads, which a master
	// that died may have completed already: commit takes one whose object
	// is in place as done (s3store.Store.CommitResumed). This master's own
	// uploads are committed plainly, so one aborted meanwhile fails.
	resumed map[string]bool

	mu      sync.Mutex
	uploads map[string]storage.Pending // every attempt's, by attemptName
}

// s3Key returns the URL of name under the output.
func (o *s3Output) s3Key(name string) string { return o.url + "/" + name }

// checkS3Output checks that the job may write url: a finished output
// (with _SUCCESS) only with overwrite, and never over objects dist did
// not write (the commit deletes old parts).
func checkS3Output(ctx context.Context, store *s3store.Store, url string, overwrite bool) error {
	_, err := checkS3OutputOf(ctx, store, url, overwrite, "")
	return err
}

// checkS3OutputOf is checkS3Output for job (a job master carrying a job
// on): a finished output whose manifest names job is not taken but done,
// its commit having landed before the master that made it died.
func checkS3OutputOf(ctx context.Context, store *s3store.Store, url string, overwrite bool, job string) (done bool, err error) {
	objs, err := store.ListAll(ctx, url+"/")
	if err != nil {
		return false, fmt.Errorf("--output %s: %w", url, err)
	}
	var foreign []string
	finished := false
	for _, o := range objs {
		name := strings.TrimPrefix(o.Name, url+"/")
		switch {
		case name == SuccessFile:
			finished = true
		case name == s3LockName:
		case !distName(name) || strings.Contains(name, "/"):
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		more := ""
		if len(foreign) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(foreign)-1)
		}
		return false, outputErr(ErrOutputForeign, "--output %s holds %s%s, which dist did not write: move it away or choose another --output (the commit replaces the parts under it)",
			url, foreign[0], more)
	}
	if finished && job != "" {
		if m, err := ReadS3Manifest(ctx, store, url); err == nil && m.Job == job {
			return true, nil
		}
	}
	if finished && !overwrite {
		return false, fmt.Errorf("%w: %s already holds %s: choose another --output or pass --overwrite", ErrOutputTaken, url, SuccessFile)
	}
	return false, nil
}

// s3LockName is the lock object under the output (s3store.Lock).
const s3LockName = "_dist-lock"

// openS3Output starts the job's output once it holds the lock: the
// output is checked again (a job that ended since Prepare may have
// finished it) and the uploads dead jobs left under it are aborted.
//
// A job master carrying a job on passes the uploads its journal holds
// (kept): they are the committed tasks' parts, so they are left in place
// and committed with the others; every other upload is aborted.
func openS3Output(ctx context.Context, store *s3store.Store, url, job string, overwrite bool, kept map[string]storage.Pending) (*s3Output, error) {
	if err := checkS3Output(ctx, store, url, overwrite); err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, u := range kept {
		keep[u.UploadID] = true
	}
	if _, err := store.AbortUploadsExcept(ctx, url+"/", keep); err != nil {
		return nil, fmt.Errorf("--output %s: abort what a dead job left: %w", url, err)
	}
	o := &s3Output{store: store, url: url, job: job, uploads: map[string]storage.Pending{}, resumed: keep}
	for k, u := range kept {
		o.uploads[k] = u
	}
	return o, nil
}

// upload returns the upload an attempt made, for the journal.
func (o *s3Output) upload(taskID string, attempt int) (storage.Pending, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	u, ok := o.uploads[attemptName(taskID, attempt)]
	return u, ok
}

// target asks the worker to upload the attempt's part.
func (o *s3Output) target(_ registry.WorkerInfo, taskID string, attempt int, part string) *proto.OutputTarget {
	return &proto.OutputTarget{Kind: string(storage.S3), Name: o.s3Key(part)}
}

// uploaded records an attempt's upload, checked against what its task
// reported.
func (o *s3Output) uploaded(taskID string, attempt int, part string, res *spec.Result, u *proto.Upload) error {
	if u == nil {
		return fmt.Errorf("%s attempt %d: the worker uploaded no part to %s (a worker without S3 output support?)", taskID, attempt, o.url)
	}
	up := u.Pending()
	o.mu.Lock()
	o.uploads[attemptName(taskID, attempt)] = up
	o.mu.Unlock()
	if u.Name != o.s3Key(part) {
		return fmt.Errorf("%s attempt %d uploaded to %s, not %s", taskID, attempt, u.Name, o.s3Key(part))
	}
	for _, out := range res.Outputs {
		if out.Name == part && (out.Size != u.Size || out.CRC32C != u.CRC32C) {
			return fmt.Errorf("%s attempt %d: %w: the task reported %d bytes CRC %08x, the upload holds %d bytes CRC %08x",
				taskID, attempt, errChecksum, out.Size, out.CRC32C, u.Size, u.CRC32C)
		}
	}
	return nil
}

// commit publishes the committed attempts' parts and writes _SUCCESS
// last. Killed at any step it leaves no _SUCCESS (an old one is deleted
// first), so the output reads as unfinished until the end; the next job
// on it aborts what is left.
func (o *s3Output) commit(ctx context.Context, outputs []tracker.Committed) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := Manifest{Job: o.job, Parts: []ManifestPart{}}
	keep := map[string]bool{}
	var chosen []storage.Pending
	for _, c := range outputs {
		name := spec.PartName(c.Task.Index)
		u, ok := o.uploads[attemptName(c.Task.ID(), c.Attempt)]
		if !ok {
			return fmt.Errorf("commit %s: %s attempt %d never uploaded it", name, c.Task.ID(), c.Attempt)
		}
		delete(o.uploads, attemptName(c.Task.ID(), c.Attempt))
		chosen = append(chosen, u)
		keep[name] = true
		m.Parts = append(m.Parts, ManifestPart{Name: name, Size: u.Size, CRC32C: u.CRC32C})
	}
	sort.Slice(m.Parts, func(i, k int) bool { return m.Parts[i].Name < m.Parts[k].Name })
	fail := func(step string, err error) error { return fmt.Errorf("commit output %s: %s: %w", o.url, step, err) }
	if err := o.store.Delete(ctx, o.s3Key(SuccessFile)); err != nil {
		return fail("remove the old "+SuccessFile, err)
	}
	for _, u := range o.uploads { // failed attempts', losing backups'
		if err := o.store.Abort(ctx, u); err != nil {
			return fail("abort "+u.Name, err)
		}
	}
	o.uploads = map[string]storage.Pending{}
	for _, u := range chosen {
		commit := o.store.Commit
		if o.resumed[u.UploadID] {
			commit = o.store.CommitResumed
		}
		if err := commit(ctx, u); err != nil {
			return fail("complete "+path.Base(u.Name), err)
		}
	}
	if err := o.removeOldParts(ctx, keep); err != nil {
		return fail("remove old parts", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest := append(b, '\n')
	// A PUT once sent may land whatever its sender does: cut short by ctx
	// (dist kill, which a job master hears as ctx ending), it would leave
	// a _SUCCESS in place under a job reported killed or failed. So ctx
	// is heard until the PUT starts, not during it, and a PUT that fails
	// is read back: what the job reports is what the output holds.
	if ctx.Err() != nil {
		return fail("write "+SuccessFile, context.Cause(ctx))
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), successTimeout)
	defer cancel()
	if err := o.store.Put(wctx, o.s3Key(SuccessFile), manifest); err != nil {
		if got, gerr := o.store.Get(wctx, o.s3Key(SuccessFile)); gerr == nil && bytes.Equal(got, manifest) {
			return nil // it landed, its answer lost
		}
		return fail("write "+SuccessFile, err)
	}
	return nil
}

// successTimeout bounds the write of _SUCCESS, which ctx does not cut
// short.
const successTimeout = 30 * time.Second

// removeOldParts deletes the parts of an earlier output under the prefix
// that this job did not write (it had more reduces).
func (o *s3Output) removeOldParts(ctx context.Context, keep map[string]bool) error {
	objs, err := o.store.ListAll(ctx, o.url+"/")
	if err != nil {
		return err
	}
	for _, obj := range objs {
		name := strings.TrimPrefix(obj.Name, o.url+"/")
		if strings.HasPrefix(name, "part-") && !keep[name] {
			if err := o.store.Delete(ctx, obj.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// abort aborts every upload the job's attempts made, and any other left
// under the output (the job holds the lock: none is a live job's). What
// fails here the next job on the output aborts.
func (o *s3Output) abort(ctx context.Context) error {
	o.mu.Lock()
	ups := o.uploads
	o.uploads = map[string]storage.Pending{}
	o.mu.Unlock()
	var errs []error
	for _, u := range ups {
		errs = append(errs, o.store.Abort(ctx, u))
	}
	if _, err := o.store.AbortUploads(ctx, o.url+"/"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ReadS3Manifest reads the _SUCCESS manifest of a finished S3 output.
func ReadS3Manifest(ctx context.Context, store *s3store.Store, url string) (*Manifest, error) {
	b, err := store.Get(ctx, strings.TrimSuffix(url, "/")+"/"+SuccessFile)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s/%s: %w", url, SuccessFile, err)
	}
	return &m, nil
}
