package worker

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/distmr/dist/internal/artifact"
)

// Least-recently-used bound on the artifact cache. An artifact's
// modification time is its last use: has (HasArtifact, Launch) touches it.
// After every upload, evict removes the oldest artifacts until the cache
// fits in limit bytes. Removing a file a running task executes is safe on
// Linux (the inode lives on); a client whose artifact was evicted between
// HasArtifact and Launch gets not_found and uploads it again.

func (c *cache) touch(sha string) {
	now := time.Now()
	_ = os.Chtimes(c.path(sha), now, now)
}

// evict removes least recently used artifacts, never keep, until the cache
// holds at most limit bytes.
func (c *cache) evict(keep string) {
	if c.limit <= 0 {
		return
	}
	c.evictMu.Lock()
	defer c.evictMu.Unlock()
	type entry struct {
		sha  string
		size int64
		used time.Time
	}
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	var all []entry
	var total int64
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) || !artifact.ValidSHA(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		all = append(all, entry{e.Name(), fi.Size(), fi.ModTime()})
		total += fi.Size()
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= c.limit {
			return
		}
		if e.sha == keep {
			continue
		}
		if err := os.Remove(filepath.Join(c.dir, e.sha)); err == nil {
			total -= e.size
			if c.log != nil {
				c.log.Info("artifact evicted from cache", "sha256", e.sha, "size", e.size, "cache_bytes", total)
			}
		}
	}
}
