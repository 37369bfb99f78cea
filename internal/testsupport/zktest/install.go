package zktest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// notInstalled is the skip (or, in CI, failure) reason.
const notInstalled = "zookeeper not installed: apt-get install zookeeper"

// Where Debian's zookeeper and libzookeeper-java packages put things.
// Older packages kept a tarball-like layout under /usr/share/zookeeper.
const (
	debianHome    = "/usr/share/zookeeper"
	debianJar     = "/usr/share/java/zookeeper.jar"
	debianBinding = "/usr/share/java/slf4j-simple.jar" // logs to stderr
)

var errNoInstall = errors.New(notInstalled)

// install is a ZooKeeper the harness can run.
type install struct {
	java      string
	classpath []string
	from      string // where it was found, for messages
}

// findInstall locates java and the ZooKeeper jars.
func findInstall() (install, error) {
	java, err := findJava()
	if err != nil {
		return install{}, err
	}
	cp, from, err := findClasspath()
	if err != nil {
		return install{}, err
	}
	return install{java: java, classpath: cp, from: from}, nil
}

func findJava() (string, error) {
	if home := os.Getenv("JAVA_HOME"); home != "" {
		p := filepath.Join(home, "bin", "java")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", fmt.Errorf("%w (java not found in $JAVA_HOME/bin or PATH)", errNoInstall)
	}
	return p, nil
}

// findClasspath returns the jars (and conf dir) that run a server.
func findClasspath() ([]string, string, error) {
	if home := os.Getenv("ZOOKEEPER_HOME"); home != "" {
		cp := jarsIn(home, filepath.Join(home, "lib"))
		if !hasServerJar(cp) {
			return nil, "", fmt.Errorf("%w (ZOOKEEPER_HOME=%s holds no zookeeper-<version>.jar in it or in lib/)", errNoInstall, home)
		}
		if isDir(filepath.Join(home, "conf")) {
			cp = append([]string{filepath.Join(home, "conf")}, cp...)
		}
		return cp, "ZOOKEEPER_HOME=" + home, nil
	}
	if cp := jarsIn(debianHome, filepath.Join(debianHome, "lib")); hasServerJar(cp) {
		return cp, debianHome, nil
	}
	if _, err := os.Stat(debianJar); err == nil {
		// The jar's manifest Class-Path names its dependencies; add an
		// slf4j binding so that the server's log is not silently dropped.
		cp := []string{debianJar}
		if _, err := os.Stat(debianBinding); err == nil {
			cp = append(cp, debianBinding)
		}
		return cp, debianJar, nil
	}
	return nil, "", fmt.Errorf("%w (no ZooKeeper jar in $ZOOKEEPER_HOME, %s or %s)", errNoInstall, debianHome, debianJar)
}

func jarsIn(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "*.jar"))
		sort.Strings(m)
		out = append(out, m...)
	}
	return out
}

var serverJar = regexp.MustCompile(`^zookeeper(-\d[\w.-]*)?\.jar$`)

func hasServerJar(jars []string) bool {
	for _, j := range jars {
		if serverJar.MatchString(filepath.Base(j)) {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// unavailable skips the test for a missing install, or fails it in CI
// (CI=true), where a missing ZooKeeper is a broken setup.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true: ZooKeeper tests must run)", err)
	}
	t.Skip(err.Error())
}
