package s3store

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Defaults when neither the environment nor the shared config name them.
const (
	DefaultRegion   = "us-east-1"
	DefaultEndpoint = "https://s3.amazonaws.com"
)

// config is where the store is, as this process's AWS configuration says.
type config struct {
	endpoint string // scheme://host[:port], no path
	host     string // host[:port]
	secure   bool
	region   string
	custom   bool // not AWS's own endpoint: path-style addressing
}

// loadConfig reads the endpoint and region from the environment, then
// from the profile's section of the shared config file. Credentials are
// not read here: minio's providers read them when a request is signed.
func loadConfig(getenv func(string) string) (config, error) {
	prof, err := profileSettings(getenv)
	if err != nil {
		return config{}, err
	}
	endpoint, from := firstSet(getenv, prof, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "endpoint_url")
	if endpoint == "" {
		endpoint, from = DefaultEndpoint, ""
	}
	region, _ := firstSet(getenv, prof, "AWS_REGION", "AWS_DEFAULT_REGION", "region")
	if region == "" {
		region = DefaultRegion
	}
	u, err := url.Parse(endpoint)
	switch {
	case strings.Contains(endpoint, "@"):
		// Do not echo it: user info in a URL may be a secret.
		return config{}, fmt.Errorf("%s is not an endpoint URL (it has user info): set it like http://127.0.0.1:8333 or https://s3.eu-west-1.amazonaws.com", from)
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Path != "" && u.Path != "/", u.RawQuery != "":
		return config{}, fmt.Errorf("%s=%q is not an endpoint URL: set it like http://127.0.0.1:8333 or https://s3.eu-west-1.amazonaws.com", from, endpoint)
	}
	host := u.Hostname()
	return config{
		endpoint: u.Scheme + "://" + u.Host,
		host:     u.Host,
		secure:   u.Scheme == "https",
		region:   region,
		custom:   host != "amazonaws.com" && !strings.HasSuffix(host, ".amazonaws.com"),
	}, nil
}

// firstSet returns the first of the environment variables names (all but
// the last) that is set, else the shared config's setting named last, and
// where it came from.
func firstSet(getenv func(string) string, prof map[string]string, names ...string) (value, from string) {
	envs, key := names[:len(names)-1], names[len(names)-1]
	for _, n := range envs {
		if v := getenv(n); v != "" {
			return v, n
		}
	}
	if v := prof[key]; v != "" {
		return v, key + " in " + prof[fileKey]
	}
	return "", ""
}

// fileKey holds, in a profile's settings, the file they came from.
const fileKey = " file"

// profileSettings returns the settings of the AWS_PROFILE (or default)
// profile in the shared config file, AWS_CONFIG_FILE or ~/.aws/config. A
// missing file has none.
func profileSettings(getenv func(string) string) (map[string]string, error) {
	path := getenv("AWS_CONFIG_FILE")
	if path == "" {
		home := getenv("HOME")
		if home == "" {
			return nil, nil
		}
		path = filepath.Join(home, ".aws", "config")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the AWS config: %w: fix it or set AWS_CONFIG_FILE", err)
	}
	defer f.Close()
	profile := getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	settings := map[string]string{fileKey: path}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		switch {
		case line == "", line[0] == '#', line[0] == ';':
		case line[0] == '[':
			name := strings.TrimSpace(strings.Trim(line, "[]"))
			name = strings.TrimSpace(strings.TrimPrefix(name, "profile "))
			in = name == profile
		case in && raw[0] != ' ' && raw[0] != '\t': // indented: a service's sub-setting
			k, v, ok := strings.Cut(line, "=")
			if ok {
				settings[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return settings, nil
}
