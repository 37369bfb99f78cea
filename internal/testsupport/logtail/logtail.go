// Package logtail shows the end of a service's log file in a test failure.
package logtail

import (
	"bytes"
	"fmt"
	"os"
)

// Read returns the last n lines of the file at path, or why it has none.
func Read(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
