package s3store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config")
	if err := os.WriteFile(file, []byte(`
[default]
region = eu-west-1

[profile dev]
region = eu-central-1
endpoint_url = http://127.0.0.1:8333
s3 =
  endpoint_url = http://ignored:1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env              map[string]string
		endpoint, region string
		custom           bool
	}{
		{map[string]string{"HOME": dir}, DefaultEndpoint, DefaultRegion, false},
		{map[string]string{"AWS_CONFIG_FILE": file}, DefaultEndpoint, "eu-west-1", false},
		{map[string]string{"AWS_CONFIG_FILE": file, "AWS_PROFILE": "dev"}, "http://127.0.0.1:8333", "eu-central-1", true},
		{map[string]string{"AWS_CONFIG_FILE": file, "AWS_PROFILE": "dev", "AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL": "https://minio.example:9000/"},
			"https://minio.example:9000", "us-west-2", true},
		{map[string]string{"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2"}, "http://b:2", DefaultRegion, true},
		{map[string]string{"AWS_ENDPOINT_URL": "https://s3.eu-west-1.amazonaws.com"}, "https://s3.eu-west-1.amazonaws.com", DefaultRegion, false},
	} {
		cfg, err := loadConfig(func(k string) string { return tc.env[k] })
		if err != nil || cfg.endpoint != tc.endpoint || cfg.region != tc.region || cfg.custom != tc.custom {
			t.Errorf("%v: %+v, %v; want endpoint %s region %s custom %v", tc.env, cfg, err, tc.endpoint, tc.region, tc.custom)
		}
	}
	for endpoint, want := range map[string]string{
		"127.0.0.1:8333":         `AWS_ENDPOINT_URL="127.0.0.1:8333" is not an endpoint URL`,
		"http://127.0.0.1/x":     `AWS_ENDPOINT_URL="http://127.0.0.1/x" is not an endpoint URL`,
		"http://AKID:SECRET@h:1": `AWS_ENDPOINT_URL is not an endpoint URL`,
	} {
		_, err := loadConfig(func(k string) string { return map[string]string{"AWS_ENDPOINT_URL": endpoint}[k] })
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("AWS_ENDPOINT_URL=%s: %v, want %s...", endpoint, err, want)
		}
	}
}
