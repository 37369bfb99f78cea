package client

import (
	"errors"

	"golang.org/x/sys/unix"
)

// exchange swaps the directories at staged and dir in one step
// (renameat2 RENAME_EXCHANGE): a reader, or a crash, sees DIR either old
// or new. A file system that cannot exchange (EINVAL: some network and
// FUSE file systems) gets the two-rename fallback of other systems.
func exchange(staged, dir string) error {
	err := unix.Renameat2(unix.AT_FDCWD, staged, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return swapByRenames(staged, dir)
	}
	return err
}
