package spec

import "errors"

// ErrBadConfig marks a task config that cannot be run as sent.
var ErrBadConfig = errors.New("bad task config")
