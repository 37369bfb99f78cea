package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// globHint is what a stray argument to dist run almost always means: the
// shell expanded an unquoted --input glob, and every file after the first
// became an argument.
const globHint = "an unquoted glob? quote it (--input 'books/*.txt') so that dist expands it, or repeat --input for each file"

// noArgs is the Before hook of a command that takes no positional
// arguments. urfave/cli stops reading flags at the first argument, so an
// argument is refused here, before any flag check: the flags after it
// were never read, and "--output is required" would blame the wrong thing.
// hint, when set, says what the argument probably is.
func noArgs(hint string) cli.BeforeFunc {
	return func(c *cli.Context) error {
		if c.NArg() == 0 {
			return nil
		}
		msg := fmt.Sprintf("%s takes no arguments, got %q", c.Command.Name, c.Args().First())
		if n := c.NArg() - 1; n > 0 {
			msg += fmt.Sprintf(" and %d more", n)
		}
		if hint != "" {
			msg += ": " + hint
		}
		return usageErr(fmt.Errorf("%s", msg))
	}
}

// onUsageError words a flag the command line got wrong as one line
// (instead of the whole help), suggesting the nearest flag for a
// misspelled one.
func onUsageError(c *cli.Context, err error, isSubcommand bool) error {
	help := "dist --help"
	if isSubcommand {
		help = "dist " + c.Command.Name + " --help"
	}
	// The flag package names flags with one dash; dist's help uses two.
	msg := strings.NewReplacer("flag -", "flag --", ": -", ": --").Replace(err.Error())
	name, unknown := strings.CutPrefix(msg, "flag provided but not defined: ")
	if !unknown {
		return usageErr(fmt.Errorf("%s (%s lists the flags)", msg, help))
	}
	name = strings.TrimLeft(name, "-")
	var names []string
	for _, f := range c.Command.Flags {
		names = append(names, f.Names()...)
	}
	if s := nearest(name, names); s != "" {
		return usageErr(fmt.Errorf("unknown flag --%s: did you mean --%s?", name, s))
	}
	return usageErr(fmt.Errorf("unknown flag --%s (%s lists the flags)", name, help))
}

// rootAction runs for `dist` alone (help) and for a command dist does not
// have (a usage error naming the nearest command).
func rootAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	var names []string
	for _, cmd := range c.App.VisibleCommands() {
		names = append(names, cmd.Names()...)
	}
	msg := fmt.Sprintf("unknown command %q", c.Args().First())
	if s := nearest(c.Args().First(), names); s != "" {
		msg += fmt.Sprintf(": did you mean %q?", s)
	}
	return usageErr(fmt.Errorf("%s (dist help lists the commands)", msg))
}

// nearest returns the candidate closest to s: one s is a prefix of (when
// only one is), or else the one fewest edits away (insertions, deletions,
// substitutions and swaps of adjacent letters), if that is at most a third
// of its length. "" when none is close.
func nearest(s string, candidates []string) string {
	var prefixed []string
	for _, c := range candidates {
		if len(s) >= 2 && strings.HasPrefix(c, s) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(s, c)
		if d > max(1, len(c)/3) {
			continue
		}
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// the fewest insertions, deletions, substitutions and adjacent swaps that
// turn one into the other ("inptu" is one swap from "input").
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	// d[i][j] is the distance between x[:i] and y[:j].
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
