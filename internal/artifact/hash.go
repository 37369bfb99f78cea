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
	return HashFile(f)
}

// HashFile is Hash of a file already open, read from where it stands.
func HashFile(f *os.File) (sum string, size int64, err error) {
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// ValidSHA reports whether s is 64 lowercase hex digits: an artifact's
// address as Hash writes it.
func ValidSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
