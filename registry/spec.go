package registry

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultRoot is the registry's root node when a ZooKeeper address has no
// chroot.
const DefaultRoot = "/dist"

// DefaultZKPort is the port used for a ZooKeeper host given without one.
const DefaultZKPort = 2181

// maxIDLen bounds a worker ID (a node name) in bytes.
const maxIDLen = 255

// ZKSpec is a parsed ZooKeeper address.
type ZKSpec struct {
	// Servers are host:port pairs, in the order given.
	Servers []string
	// Root is the registry's root node: the chroot if one was given,
	// otherwise DefaultRoot. Workers live under Root + "/workers".
	Root string
}

// WorkersPath is the parent node of the worker nodes.
func (s ZKSpec) WorkersPath() string { return s.Root + "/workers" }

// NodePath is the ephemeral node of worker id.
func (s ZKSpec) NodePath(id string) string { return s.WorkersPath() + "/" + id }

// JobsPath is the parent node of the job records.
func (s ZKSpec) JobsPath() string { return s.Root + "/jobs" }

// JobPath is the node of job id.
func (s ZKSpec) JobPath(id string) string { return s.JobsPath() + "/" + id }

// String gives the spec back in host:port,...[/chroot] form.
func (s ZKSpec) String() string {
	hosts := strings.Join(s.Servers, ",")
	if s.Root == DefaultRoot {
		return hosts
	}
	return hosts + s.Root
}

// ParseZKSpec parses "host:port[,host:port...][/chroot]". A host without a
// port gets DefaultZKPort; IPv6 hosts are bracketed ("[::1]:2181"). The
// chroot, when present and not just "/", becomes the root; otherwise the
// root is DefaultRoot.
func ParseZKSpec(spec string) (ZKSpec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return ZKSpec{}, fmt.Errorf("%w: empty; give host:port[,host:port...][/chroot], e.g. 127.0.0.1:2181", ErrInvalidSpec)
	}
	hosts, chroot := spec, ""
	if i := strings.IndexByte(spec, '/'); i >= 0 {
		hosts, chroot = spec[:i], spec[i:]
	}
	var out ZKSpec
	for _, h := range strings.Split(hosts, ",") {
		server, err := parseServer(strings.TrimSpace(h))
		if err != nil {
			return ZKSpec{}, fmt.Errorf("%w %q: %v", ErrInvalidSpec, spec, err)
		}
		out.Servers = append(out.Servers, server)
	}
	out.Root = DefaultRoot
	if chroot != "" && chroot != "/" {
		if err := validateChroot(chroot); err != nil {
			return ZKSpec{}, fmt.Errorf("%w %q: %v", ErrInvalidSpec, spec, err)
		}
		out.Root = chroot
	}
	return out, nil
}

func parseServer(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("empty host in the server list")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// Only a missing port is forgivable: "zk1" means "zk1:2181".
		if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
			return "", fmt.Errorf("host %q: %v (bracket IPv6 addresses: [::1]:2181)", h, err)
		}
		host, port = strings.Trim(h, "[]"), strconv.Itoa(DefaultZKPort)
	}
	if host == "" {
		return "", fmt.Errorf("host %q has no host name", h)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("host %q: port must be a number from 1 to 65535", h)
	}
	return net.JoinHostPort(host, port), nil
}

func validateChroot(p string) error {
	if strings.HasSuffix(p, "/") {
		return fmt.Errorf("chroot %q ends with '/': drop it", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if err := validateName(seg); err != nil {
			return fmt.Errorf("chroot %q: %v", p, err)
		}
	}
	return nil
}

// ValidateID reports whether id can name a worker's node. Workers should
// check their ID at startup; Register checks it again.
func ValidateID(id string) error {
	if strings.Contains(id, "/") {
		return fmt.Errorf("%w %q: contains '/'", ErrInvalidID, id)
	}
	if err := validateName(id); err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidID, id, err)
	}
	return nil
}

// validateName checks one path segment against ZooKeeper's rules.
func validateName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty name")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not allowed as a name", s)
	case len(s) > maxIDLen:
		return fmt.Errorf("longer than %d bytes", maxIDLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("contains unprintable character %U", r)
		}
	}
	return nil
}
