//go:build !unix

package task

// closeOnExec: workers pass descriptors only on unix.
func closeOnExec(int) {}
