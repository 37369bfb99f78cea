package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
)

// Hash returns the hex SHA-256 of the file at path and its size: the
// address an artifact is shipped and cached under. Its errors are the os
// errors, which name the path.
func Hash(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close() // read only
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}
