package registry

import (
	"maps"
	"slices"
)

// PluginABI is what a Go plugin must match to load into a worker's plugin
// host (see package internal/artifact): the host's build flags and the
// link-time fingerprints of the packages a plugin may share with it.
// Clients compare a plugin against it before shipping the plugin.
type PluginABI struct {
	// GoVersion is the toolchain that built the plugin host.
	GoVersion string `msgpack:"go_version"`
	// Flags are the host's build settings that shape compilation, as
	// sorted "key=value" strings: "-trimpath=true", "GOAMD64=v1".
	Flags []string `msgpack:"flags"`
	// Hashes maps import paths (runtime and every package outside the
	// standard library) to their fingerprints in hex.
	Hashes map[string]string `msgpack:"hashes"`
}

func (p *PluginABI) clone() *PluginABI {
	if p == nil {
		return nil
	}
	return &PluginABI{GoVersion: p.GoVersion, Flags: slices.Clone(p.Flags), Hashes: maps.Clone(p.Hashes)}
}

func samePluginABI(a, b *PluginABI) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.GoVersion == b.GoVersion && slices.Equal(a.Flags, b.Flags) && maps.Equal(a.Hashes, b.Hashes)
}
