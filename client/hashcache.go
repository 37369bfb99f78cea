package client

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	artinfo "github.com/distmr/dist/internal/artifact"
)

// hashCache remembers the SHA-256 of the files a job ships, by file
// identity, so that running an unchanged program again does not read and
// hash it again: that costs 5 ms for a 5 MB app and 40 ms for 64 MB, more
// than a one-line job's map. An entry holds the file's device, inode,
// size, mtime and ctime. Any write to a file sets its ctime, which no
// call can set back, and a file replaced by a rename has another inode;
// an entry matches only the bytes it was made from.
type hashCache struct {
	path string           // the cache file; "" caches nothing
	now  func() time.Time // when a hash starts
}

// racyWindow: a hash is remembered only for a file last changed this long
// before it was read. File times tick coarsely (a jiffy, or a file
// server's clock), so a file written again within its ctime's tick could
// keep its size and times with other bytes; past the window any change
// shows (git's "racily clean" index entries, the same idea).
const racyWindow = 2 * time.Second

// maxHashEntries bounds the cache file; the oldest entries go first.
const maxHashEntries = 256

// userHashCache is the cache in the user's cache directory
// ($XDG_CACHE_HOME/dist, ~/.cache/dist): none when there is no such
// directory.
func userHashCache() hashCache {
	c := hashCache{now: time.Now}
	if dir, err := os.UserCacheDir(); err == nil {
		c.path = filepath.Join(dir, "dist", "program-hashes")
	}
	return c
}

// fileID is what an entry matches a file by.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // ns since the epoch
}

func (id fileID) key() string {
	return fmt.Sprintf("%d %d %d %d %d", id.dev, id.ino, id.size, id.mtime, id.ctime)
}

// hash returns the hex SHA-256 and size of the file at path, from the
// cache when an entry matches the file, otherwise by reading it. The
// cache only saves work: when it cannot be read or written the file is
// hashed, as without one.
//
// The file is opened before it is identified: an NFS client checks a
// file's attributes with its server on open, while a plain stat may
// answer from attributes cached for up to a minute.
func (c hashCache) hash(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close() // read only
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	id, ok := identify(st)
	if !ok || c.path == "" || id.mtime <= 0 || id.ctime <= 0 {
		// A file system without real times (some FUSE ones) could
		// rewrite a file without changing what identifies it.
		return artinfo.HashFile(f)
	}
	if sum := c.lookup(id); sum != "" {
		return sum, id.size, nil
	}
	start := c.now()
	if sum, size, err = artinfo.HashFile(f); err != nil {
		return "", 0, err
	}
	after, err := f.Stat()
	if err != nil {
		return sum, size, nil
	}
	changed := time.Unix(0, max(id.mtime, id.ctime))
	if now, ok := identify(after); ok && now == id && size == id.size && changed.Before(start.Add(-racyWindow)) {
		c.store(id, sum)
	}
	return sum, size, nil
}

// lookup returns the hash remembered for id, or "".
func (c hashCache) lookup(id fileID) string {
	b, err := os.ReadFile(c.path)
	if err != nil {
		return ""
	}
	key := id.key() + " "
	for line := range bytes.Lines(b) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		if rest, ok := bytes.CutPrefix(line, []byte(key)); ok && artinfo.ValidSHA(string(rest)) {
			return string(rest)
		}
	}
	return ""
}

// store adds an entry, dropping any other for the same file and the
// oldest past maxHashEntries. Two runs storing at once may lose one's
// entry, which only costs a hash.
func (c hashCache) store(id fileID, sum string) {
	var keep [][]byte
	if b, err := os.ReadFile(c.path); err == nil {
		same := []byte(fmt.Sprintf("%d %d ", id.dev, id.ino))
		for line := range bytes.Lines(b) {
			if !bytes.HasPrefix(line, same) && bytes.HasSuffix(line, []byte("\n")) {
				keep = append(keep, line)
			}
		}
	}
	keep = append(keep, []byte(id.key()+" "+sum+"\n"))
	keep = keep[max(0, len(keep)-maxHashEntries):]
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(dir, ".program-hashes-*")
	if err != nil {
		return
	}
	w := bufio.NewWriter(f)
	for _, line := range keep {
		w.Write(line)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
