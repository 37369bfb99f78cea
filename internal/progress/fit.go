package progress

import (
	"fmt"
	"strings"
)

// The live status line must fit the terminal: a line that wraps cannot be
// redrawn in place. Rather than cut it (which hid the retries on an
// 80-column terminal), fields are shortened and dropped, least useful
// first, and never cut in the middle.

// field is one part of the status line: its forms from longest to
// shortest, the one shown (at; len(forms) means dropped), and the
// separator before it.
type field struct {
	sep   string
	forms []string
	at    int
}

func (f *field) text() string {
	if f.at >= len(f.forms) {
		return ""
	}
	return f.forms[f.at]
}

// Indexes into the fields of a status line, in display order.
const (
	fElapsed = iota
	fBar
	fCounts
	fShuffled
	fWorkers
	fRetries
	fBackups
	nFields
)

// fields returns the fields of the live status line at their longest.
func (s Status) fields() [nFields]field {
	elapsed := s.Elapsed.Seconds()
	var f [nFields]field
	f[fElapsed] = field{forms: []string{fmt.Sprintf("%6.1fs", elapsed), fmt.Sprintf("%.1fs", elapsed)}}
	f[fBar] = field{sep: " ", forms: []string{s.bar(20), s.bar(10)}}
	f[fCounts] = field{sep: " ", forms: []string{
		s.counts(),
		fmt.Sprintf("m %d/%d r %d/%d", s.MapsDone, s.Maps, s.ReducesDone, s.Reduces),
	}}
	f[fShuffled] = field{sep: "  ", forms: []string{"shuffled " + Bytes(s.Shuffled)}}
	f[fWorkers] = field{sep: "  ", forms: []string{s.workers(), fmt.Sprintf("workers %d", s.Workers)}}
	f[fRetries] = field{sep: "  ", forms: []string{fmt.Sprintf("retries %d", s.Retries)}}
	if s.Backups > 0 {
		f[fBackups] = field{sep: "  ", forms: []string{fmt.Sprintf("backups %d", s.Backups)}}
	}
	return f
}

// fit joins fields into a line of at most width runes, degrading them as
// needed. Should even the counts alone not fit, the line ends at the last
// whole word that does.
func fit(f [nFields]field, width int) string {
	// The order in which fields give way when the line is too wide: each
	// step shortens one field by a form, or drops it after its last. The
	// counts and the retries go last: they say whether the job is moving
	// and whether it is in trouble.
	degrade := [...]int{
		fWorkers,  // "workers 3 (4 tasks running)" → "workers 3"
		fBar,      // 20 cells → 10
		fBar,      // gone
		fShuffled, // gone
		fElapsed,  // "   4.2s" → "4.2s"
		fWorkers,  // gone
		fBackups,  // gone
		fElapsed,  // gone
		fCounts,   // "maps 3/8, reduces 0/2" → "m 3/8 r 0/2"
		fRetries,  // gone
	}
	line := join(f)
	for _, i := range degrade {
		if runes(line) <= width {
			return line
		}
		f[i].at++
		line = join(f)
	}
	if runes(line) <= width {
		return line
	}
	r := []rune(line)[:width+1]
	if cut := strings.LastIndexByte(string(r), ' '); cut > 0 {
		return strings.TrimRight(string(r)[:cut], " ,")
	}
	return string(r[:width])
}

// join writes the shown fields with their separators (none before the
// first shown).
func join(f [nFields]field) string {
	var b strings.Builder
	for i := range f {
		t := f[i].text()
		if t == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(f[i].sep)
		}
		b.WriteString(t)
	}
	return b.String()
}

func runes(s string) int { return len([]rune(s)) }
