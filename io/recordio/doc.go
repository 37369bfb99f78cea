// Package recordio reads and writes the intermediate (shuffle) file format
// of dist: the sorted partition files a map task writes and a reduce task
// merges.
//
// # Format
//
// A file is a sequence of records and nothing else: no header, no footer.
// Each record is
//
//	uvarint(len(key)) key uvarint(len(value)) value
//
// with lengths as encoding/binary unsigned varints. An empty file holds no
// records. Integrity is checked outside the file: a Writer reports the
// CRC-32C (Castagnoli) of every byte it wrote, which the task result
// carries and the shuffle verifies.
//
// # Limits
//
// A Reader refuses a record whose key and value together exceed its
// MaxRecord (DefaultMaxRecord unless set) before allocating for it, and
// reports a file that ends inside a record as ErrTruncated, so a damaged
// or hostile file costs at most one record's worth of memory.
package recordio
