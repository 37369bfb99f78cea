package task

import "io"

// MainStatus runs what Main runs, with taskDir as $DIST_TASK_DIR, and
// returns the exit status instead of exiting.
func MainStatus(app App, taskDir string, stderr io.Writer) int {
	return mainStatus(app, func(string) string { return taskDir }, stderr)
}
