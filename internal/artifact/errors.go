package artifact

import "errors"

var (
	// ErrNotELF marks a file that is neither an ELF file nor a script.
	ErrNotELF = errors.New("not an ELF file")
	// ErrPlatform marks a program built for another GOOS/GOARCH.
	ErrPlatform = errors.New("wrong platform")
	// ErrNoPluginHost marks a host that cannot load Go plugins.
	ErrNoPluginHost = errors.New("cannot host Go plugins")
	// ErrPluginMismatch marks a plugin the host's Go plugin loader would
	// refuse: another Go version, other build flags or another version of
	// a shared package.
	ErrPluginMismatch = errors.New("plugin does not match its host")
)
