// Command teravalidate checks a TeraSort output: every record in order,
// within each part and across them, and the records the same as
// teragen's, by count and checksum. Give it the parts in part order, with
// one reduce:
//
//	dist build ./userapp/teravalidate -o teravalidate
//	dist run --app teravalidate --input 'tera-out/part-*' --reduces 1 \
//	    --param rows=N --param checksum=C --output tera-check --local 2
//
// part-00000 then holds one line: "ok<TAB>ROWS<TAB>CHECKSUM", or
// "error<TAB>" and the first problem found, in input order. dist sorts a
// glob's files by name and cuts each into splits in byte order, and map i
// reads split i, so split order is the output's order.
//
// A map sees one split: it checks that each line is a record (99 bytes, a
// TAB after the 10-byte key) and not before the one above it (whole lines
// in byte order, the order terasort writes: by key, ties by the rest), and
// reports the split's first and last record, its row count and the sum of
// the CRC-32 (IEEE) of its lines, newline included, modulo 2^64. The
// reduce goes through those reports in split order: each split's first
// record must not come before the last one of the splits before it. It
// adds up rows and checksums, the way teragen counts them in its
// teragen.rows and teragen.checksum counters, and compares them with
// --param rows and checksum when they are given (the checksum as an
// unsigned or a signed 64-bit number); a record missing, duplicated or
// changed shows there. Without them the line only says what it counted.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"

	"github.com/distmr/dist/task"
)

// App is the validator; a plugin host looks it up by this name.
var App = task.App{Setup: setup, Map: check, Reduce: follow, Flush: flush}

func main() { task.Main(App) }

const (
	// lineSize is a record's length without its newline.
	lineSize = 99
	// keySize is the length of the key that starts a record; a TAB
	// follows it.
	keySize = 10
)

// summary is what a map reports about its split.
type summary struct {
	File     string `json:"file"`
	Rows     int64  `json:"rows"`
	Checksum uint64 `json:"checksum"`
	// First and Last are the split's first and last records, without
	// the newline, at byte offsets FirstAt of File and LastAt of
	// LastFile (another file when small files were packed into the
	// split).
	First    string `json:"first,omitempty"`
	Last     string `json:"last,omitempty"`
	LastFile string `json:"last_file,omitempty"`
	FirstAt  string `json:"first_at,omitempty"`
	LastAt   string `json:"last_at,omitempty"`
	// Err is the split's first problem; "" when there is none.
	Err string `json:"err,omitempty"`
}

// sequence is what the reduce keeps between splits.
type sequence struct {
	rows     int64
	checksum uint64
	last     *summary // the last split with a record
	err      string   // the first problem found
}

// setup keeps a summary in a map and a sequence in the reduce; both need
// one reduce, which sees every split's summary.
func setup(ctx *task.Context) error {
	if ctx.Reduces() != 1 {
		return task.Fatal(fmt.Errorf("teravalidate checks the splits' order in one reduce, this job has %d: run with --reduces 1", ctx.Reduces()))
	}
	if ctx.Phase() == task.PhaseMap {
		ctx.SetState(&summary{File: ctx.InputFile()})
	} else {
		ctx.SetState(&sequence{})
	}
	return nil
}

// check takes one line of the split; offset is its byte offset.
func check(ctx *task.Context, offset, line string, _ task.Emit) error {
	s := ctx.State().(*summary)
	file := ctx.InputFile()
	switch {
	case s.Err != "":
	case len(line) != lineSize || line[keySize] != '\t':
		s.Err = fmt.Sprintf("%s byte %s: %q is not a teragen record (%d bytes and a newline, a TAB after the %d-byte key)",
			file, offset, clip(line), lineSize, keySize)
	case s.Rows > 0 && line < s.Last:
		s.Err = fmt.Sprintf("%s byte %s: out of order: %q after %q at %s byte %s", file, offset, head(line), head(s.Last), s.LastFile, s.LastAt)
	}
	if s.Rows == 0 {
		s.File, s.First, s.FirstAt = file, line, offset
	}
	s.Last, s.LastFile, s.LastAt = line, file, offset
	s.Rows++
	s.Checksum += uint64(crc32.Update(crc32.ChecksumIEEE([]byte(line)), crc32.IEEETable, newline))
	return nil
}

var newline = []byte{'\n'}

// follow checks one split's summary against the splits before it; key is
// the split's index, zero-padded so that byte order is split order.
func follow(ctx *task.Context, key string, summaries task.Values, _ task.Emit) error {
	q := ctx.State().(*sequence)
	for v := range summaries {
		s := new(summary)
		if err := json.Unmarshal([]byte(v), s); err != nil {
			return task.Fatal(fmt.Errorf("split %s: a map's summary does not decode (%v): maps and reduce must be the same teravalidate", key, err))
		}
		q.rows += s.Rows
		q.checksum += s.Checksum
		switch {
		case q.err != "" || s.Rows == 0:
		case s.Err != "":
			q.err = s.Err
		case q.last != nil && s.First < q.last.Last:
			q.err = fmt.Sprintf("%s byte %s: out of order across splits: %q after %q at %s byte %s",
				s.File, s.FirstAt, head(s.First), head(q.last.Last), q.last.LastFile, q.last.LastAt)
		}
		if s.Rows > 0 {
			q.last = s
		}
	}
	return nil
}

// flush ends a map by reporting its split, and the reduce by writing the
// verdict.
func flush(ctx *task.Context, emit task.Emit) error {
	if ctx.Phase() == task.PhaseMap {
		b, err := json.Marshal(ctx.State().(*summary))
		if err != nil {
			return err
		}
		emit(fmt.Sprintf("%010d", ctx.Index()), string(b))
		return nil
	}
	q := ctx.State().(*sequence)
	rows, err := ctx.IntParam("rows", -1)
	if err != nil {
		return err
	}
	sum, given, err := checksumParam(ctx)
	if err != nil {
		return err
	}
	switch {
	case q.err != "":
		emit("error", q.err)
	case rows >= 0 && q.rows != int64(rows):
		emit("error", fmt.Sprintf("%d records, teragen wrote %d: records are missing or duplicated", q.rows, rows))
	case given && q.checksum != sum:
		emit("error", fmt.Sprintf("checksum %d, teragen's is %d: records are missing, duplicated or changed", q.checksum, sum))
	default:
		emit("ok", fmt.Sprintf("%d\t%d", q.rows, q.checksum))
	}
	return nil
}

// checksumParam reads --param checksum, unsigned or as the signed 64-bit
// number a counter may show; given is false without one.
func checksumParam(ctx *task.Context) (sum uint64, given bool, err error) {
	s := ctx.Param("checksum")
	if s == "" {
		return 0, false, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, true, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return uint64(i), true, nil
	}
	return 0, false, task.Fatal(errors.New("param checksum=" + strconv.Quote(s) + " is not a 64-bit number: run with --param checksum=N, teragen's teragen.checksum counter"))
}

// head is a record's key and row id, which name it in a message.
func head(line string) string { return line[:min(len(line), keySize+33)] }

// clip shortens a line quoted in an error.
func clip(line string) string {
	if len(line) > 60 {
		return line[:60] + "…"
	}
	return line
}
