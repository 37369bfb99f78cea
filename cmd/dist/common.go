package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func secretFlag() cli.Flag {
	return &cli.StringFlag{Name: "secret-file", EnvVars: []string{"DIST_SECRET_FILE"},
		Usage: "file holding the shared cluster `SECRET` (never pass the secret itself on the command line)"}
}

func logFlags(level string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-level", Value: level, EnvVars: []string{"DIST_LOG_LEVEL"}, Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"DIST_LOG_FORMAT"}, Usage: "text or json"},
	}
}

// readSecret reads the secret file named by --secret-file, if any.
func readSecret(c *cli.Context) ([]byte, error) {
	path := c.String("secret-file")
	if path == "" {
		return nil, nil
	}
	b, err := readPrivate("--secret-file", path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 16 {
		return nil, fmt.Errorf("--secret-file %s: the secret must be at least 16 characters", path)
	}
	return []byte(s), nil
}

func newLogger(c *cli.Context) (*slog.Logger, error) { return newLoggerTo(c, os.Stderr) }

// newLoggerTo is newLogger writing to w (dist run's console, see progress.go).
func newLoggerTo(c *cli.Context, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.String("log-level"))
	}
	if c.Bool("quiet") && !c.IsSet("log-level") {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.String("log-format") {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", c.String("log-format"))
}

// usageErr marks a bad command line (exit status 2).
func usageErr(err error) error { return cli.Exit(err.Error(), exitUsage) }
