// Command teragen writes TeraSort's input: rows=N records of 100 bytes,
// each with a random 10-byte key, made by the maps of a job with no input
// and written by them (map-only):
//
//	dist build ./userapp/teragen -o teragen
//	dist run --app teragen --tasks 8 --param rows=10000000 --reduces 0 \
//	    --output tera-in --local 2
//
// Map i of T writes rows [i*N/T, (i+1)*N/T) to part-i. Each record is one
// line of exactly 100 bytes, newline included:
//
//	KKKKKKKKKK<TAB>RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR<SP><SP>FFFF…FFFF<LF>
//	10 bytes   1   32 bytes                          2      54       1
//
// K is the key: 10 printable ASCII bytes ('!' to '~', no blank, no TAB),
// drawn from a generator seeded by the row number alone, so the output is
// the same bytes whatever T is. R is the row number in 32 upper-case hex
// digits, as GraySort's gensort writes it; F is filler, hex digits in runs
// of four that follow from the row. The text output format writes a
// record as key, TAB, value: the key is the line's first 10 bytes.
//
// Every map counts its rows in counter teragen.rows and adds the CRC-32
// (IEEE) of each 100-byte line, newline included, to teragen.checksum
// (modulo 2^64): a validator sums the same over the sorted output.
package main

import (
	"errors"
	"hash/crc32"
	"math/rand/v2"

	"github.com/distmr/dist/task"
)

// App is the generator; a plugin host looks it up by this name.
var App = task.App{Map: generate}

func main() { task.Main(App) }

const (
	// RecordSize is the length of one line, newline included.
	RecordSize = 100
	// KeySize is the length of the key that starts the line.
	KeySize = 10
	// seed keys every row's generator: row r's key depends on r alone.
	seed = 0x7465726167656e // "teragen"
	// keyChars are the bytes a key is drawn from: '!' to '~'.
	keyChars = '~' - '!' + 1
)

// Counters a map reports.
const (
	CounterRows     = "teragen.rows"
	CounterChecksum = "teragen.checksum"
)

// generate writes map i's share of the rows; key is the task index.
func generate(ctx *task.Context, _, _ string, emit task.Emit) error {
	tasks := ctx.Tasks()
	if tasks == 0 {
		return task.Fatal(errors.New("teragen makes its input: run it with --tasks N instead of --input"))
	}
	rows, err := ctx.IntParam("rows", -1)
	if err != nil {
		return err
	}
	if rows < 0 {
		return task.Fatal(errors.New("no row count: run with --param rows=N (N records of 100 bytes)"))
	}
	i := int64(ctx.Index())
	first, end := i*int64(rows)/int64(tasks), (i+1)*int64(rows)/int64(tasks)
	var sum uint64
	var rec [RecordSize]byte
	gen := rand.NewPCG(0, 0)
	for row := first; row < end; row++ {
		record(&rec, gen, row)
		sum += uint64(crc32.ChecksumIEEE(rec[:]))
		emit(string(rec[:KeySize]), string(rec[KeySize+1:RecordSize-1]))
	}
	ctx.Counter(CounterRows).Add(end - first)
	ctx.Counter(CounterChecksum).Add(int64(sum))
	return nil
}

const hexDigits = "0123456789ABCDEF"

// record fills rec with row's line; gen is reseeded for the row.
func record(rec *[RecordSize]byte, gen *rand.PCG, row int64) {
	gen.Seed(seed, uint64(row))
	for half := range 2 {
		// 94^5 < 2^33: five key bytes from each 64-bit draw.
		v := gen.Uint64()
		for j := range KeySize / 2 {
			rec[half*KeySize/2+j] = byte('!' + v%keyChars)
			v /= keyChars
		}
	}
	rec[KeySize] = '\t'
	id := rec[KeySize+1 : KeySize+33] // the row in 32 hex digits
	for j := range id {
		id[len(id)-1-j] = '0'
		if j < 16 {
			id[len(id)-1-j] = hexDigits[uint64(row)>>(4*j)&15]
		}
	}
	rec[KeySize+33], rec[KeySize+34] = ' ', ' '
	filler := rec[KeySize+35 : RecordSize-1]
	for j := range filler {
		filler[j] = hexDigits[(uint64(row)+uint64(j/4))%16]
	}
	rec[RecordSize-1] = '\n'
}
