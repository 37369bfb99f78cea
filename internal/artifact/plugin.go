package artifact

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Host describes a plugin host as a plugin must match it. A worker builds
// one from its own executable to check plugins before loading them, and
// publishes one in the registry (with SharedHashes) so that clients can
// check them before shipping.
type Host struct {
	// Name names the host in messages: "worker w1".
	Name string
	// GoVersion is the Go toolchain that built the host, e.g. "go1.26.8".
	GoVersion string
	// DistVersion is the dist release the host runs, for messages.
	DistVersion string
	// Flags are the host's GoInfo.BuildFlags.
	Flags []string
	// Hashes are the host's package fingerprints: all of them, or only
	// SharedHashes. Empty means the host cannot load plugins.
	Hashes map[string]string
}

// HostOf describes the program info (as Inspect returned it) as a plugin
// host named name, running dist release distVersion.
func HostOf(name string, info *Info, distVersion string) Host {
	h := Host{Name: name, DistVersion: distVersion}
	if info == nil || info.Go == nil {
		return h
	}
	h.GoVersion, h.Flags, h.Hashes = info.Go.Version, info.Go.BuildFlags(), info.Go.Hashes
	if info.Go.Settings["CGO_ENABLED"] != "1" {
		h.Hashes = nil // no dynamic loader: plugin.Open is "not implemented"
	}
	return h
}

// CanLoad reports whether the host can load plugins at all.
func (h Host) CanLoad() bool { return len(h.Hashes) > 0 }

// PluginError says why a host cannot load a plugin. Its text is one line
// naming both sides and the fix; it wraps ErrNoPluginHost or
// ErrPluginMismatch.
type PluginError struct {
	Plugin string // the plugin's file name
	Host   string // Host.Name
	Reason string // what differs
	Fix    string
	kind   error
}

func (e *PluginError) Error() string { return e.Reason + ": " + e.Fix }
func (e *PluginError) Unwrap() error { return e.kind }

// CheckPlugin reports whether host can load plugin, a file Inspect found
// to be a Go plugin. It refuses what Go's plugin loader would refuse (a
// package both link with a different fingerprint), and a plugin built by
// another Go toolchain, before anything is shipped or loaded.
func CheckPlugin(plugin *Info, host Host) error {
	name := filepath.Base(plugin.Path)
	fail := func(kind error, fix, format string, args ...any) error {
		return &PluginError{Plugin: name, Host: host.Name, Reason: fmt.Sprintf(format, args...), Fix: fix, kind: kind}
	}
	binary := "ship a binary (dist build without --plugin)"
	if plugin.Kind != Plugin || plugin.Go == nil {
		return fail(ErrPluginMismatch, "build it with dist build --plugin", "%s is not a Go plugin", name)
	}
	if !host.CanLoad() {
		return fail(ErrNoPluginHost, binary+", or run workers whose dist was built with cgo (CGO_ENABLED=1)",
			"%s cannot host Go plugins: its dist was built without cgo", host.Name)
	}
	if plugin.Go.Version != host.GoVersion {
		return fail(ErrPluginMismatch, fmt.Sprintf("rebuild it with dist build --plugin using %s, or %s", host.GoVersion, binary),
			"plugin %s was built with %s, %s runs %s", name, plugin.Go.Version, host.Name, host.GoVersion)
	}
	differ := differentPackages(plugin.Go.Hashes, host.Hashes)
	if len(differ) == 0 {
		return nil
	}
	fix := fmt.Sprintf("rebuild it with dist build --plugin using %s against dist %s, or %s", host.GoVersion, host.DistVersion, binary)
	if d := flagDiff(plugin.Go.BuildFlags(), host.Flags); d != "" {
		return fail(ErrPluginMismatch, fix, "plugin %s was built with other flags than %s (%s)", name, host.Name, d)
	}
	pkg := differ[0]
	return fail(ErrPluginMismatch, fix,
		"plugin %s was built with a different version of package %s than %s (fingerprints: plugin %s, host %s)",
		name, pkg, host.Name, short(plugin.Go.Hashes[pkg]), short(host.Hashes[pkg]))
}

// differentPackages lists the packages both sides link whose fingerprints
// differ, the most telling first: task, then the rest of its module, then
// other modules, then the standard library.
func differentPackages(plugin, host map[string]string) []string {
	var out []string
	for pkg, h := range plugin {
		if hh, ok := host[pkg]; ok && hh != h {
			out = append(out, pkg)
		}
	}
	rank := func(pkg string) int {
		switch {
		case pkg == TaskPackage:
			return 0
		case strings.HasPrefix(pkg, TaskModule+"/"):
			return 1
		case !isStd(pkg):
			return 2
		}
		return 3
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}

// flagDiff describes how two BuildFlags lists differ: "plugin -race=false,
// host -race=true; ...", or "" when they agree.
func flagDiff(plugin, host []string) string {
	pm, hm := flagMap(plugin), flagMap(host)
	var keys []string
	for k := range pm {
		keys = append(keys, k)
	}
	for k := range hm {
		if _, ok := pm[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		if pm[k] != hm[k] {
			parts = append(parts, fmt.Sprintf("%s: plugin %s, host %s", k, orDefault(pm[k]), orDefault(hm[k])))
		}
	}
	return strings.Join(parts, "; ")
}

func flagMap(flags []string) map[string]string {
	m := map[string]string{}
	for _, f := range flags {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func orDefault(v string) string {
	if v == "" {
		return "unset"
	}
	return v
}

func short(h string) string {
	if len(h) > 8 {
		return h[:8]
	}
	if h == "" {
		return "none"
	}
	return h
}
