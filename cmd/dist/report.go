package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/internal/report"
	"github.com/distmr/dist/proto"
)

// checkReport makes sure --report FILE can be written before the job
// runs, rather than losing the report (most wanted when the job fails) at
// the end.
func checkReport(path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("--report %s is a directory: name the HTML file to write, e.g. %s", path, filepath.Join(path, "report.html"))
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".report-check-*")
	if err != nil {
		return fmt.Errorf("--report %s: cannot write there: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// reportSettings lists the command line and every flag of the command
// that has a value, for the report's configuration table.
func reportSettings(c *cli.Context) []report.Setting {
	out := []report.Setting{
		{Name: "command", Value: shellJoin(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...))},
		{Name: "dist", Value: proto.Version},
	}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if name == "help" {
			continue
		}
		var v string
		switch x := c.Value(name).(type) {
		case cli.StringSlice:
			v = strings.Join(x.Value(), " ")
		case []string:
			v = strings.Join(x, " ")
		case nil:
			continue
		default:
			v = fmt.Sprint(x)
		}
		if v == "" || v == "false" && !c.IsSet(name) {
			continue
		}
		out = append(out, report.Setting{Name: "--" + name, Value: v})
	}
	return out
}

// shellJoin quotes args for a shell where they need it.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
