package client

import (
	"os"
	"syscall"
)

// identify returns what a hash cache entry matches the file st describes
// by.
func identify(st os.FileInfo) (fileID, bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok || !st.Mode().IsRegular() {
		return fileID{}, false
	}
	return fileID{
		dev: uint64(s.Dev), ino: uint64(s.Ino), size: s.Size,
		mtime: s.Mtim.Nano(), ctime: s.Ctim.Nano(),
	}, true
}
