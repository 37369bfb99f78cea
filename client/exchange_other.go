//go:build !linux

package client

// exchange swaps the directories at staged and dir. Without renameat2 it
// takes two renames (swapByRenames): a crash between them leaves DIR
// missing, its old contents at staged+".old" and the new ones complete at
// staged, until the next job on the output removes both.
func exchange(staged, dir string) error { return swapByRenames(staged, dir) }
