package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// verify reports whether the cached file of sha hashes to sha. Each entry
// is hashed at most once per process: entries this process uploaded were
// hashed on the way in; others (left by an earlier run, possibly cut short
// by a crash, since uploads are not synced) are hashed on first use, and
// a mismatch is removed so that the client uploads it again.
func (c *cache) verify(sha string) bool {
	c.verifyMu.Lock()
	ok := c.verified[sha]
	c.verifyMu.Unlock()
	if ok {
		return true
	}
	path := c.path(sha)
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	h := sha256.New()
	_, err = io.CopyBuffer(h, f, make([]byte, copyBuf))
	f.Close()
	if err != nil {
		c.log.Warn("cached artifact unreadable", "sha256", sha, "err", err)
		return false
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha {
		c.log.Warn("cached artifact is corrupt (cut short by a crash?): removing it", "sha256", sha, "hashes_to", got)
		_ = os.Remove(path)
		return false
	}
	c.markVerified(sha)
	return true
}

// markVerified records that the entry of sha is known good.
func (c *cache) markVerified(sha string) {
	c.verifyMu.Lock()
	if c.verified == nil {
		c.verified = map[string]bool{}
	}
	c.verified[sha] = true
	c.verifyMu.Unlock()
}
