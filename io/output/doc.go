// Package output writes the records of a map-only task or a reduce task
// to its output file.
//
// # Formats
//
// A Format wraps an io.Writer in a Writer of (key, value) records. Formats
// are looked up by name in a Formats map; Defaults builds the standard
// set:
//
//	text  key<TAB>value lines
//
// An app adds its own formats by name through task.App.OutputFormats. The
// caller owns the file: it counts and checksums the bytes, and closes the
// file after the Writer's Close has flushed.
package output
