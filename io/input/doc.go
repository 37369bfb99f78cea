// Package input turns a map task's input split into records.
//
// # Formats
//
// A Format opens a Split and returns a Reader of (key, value) records.
// Formats are looked up by name (`dist run --input-format NAME`) in a
// Formats map; Defaults builds the standard set:
//
//	text       key = byte offset of the line in the original file,
//	           value = the line without "\n" or "\r\n"
//	wholefile  key = the input's name, value = all of its bytes
//	kv         key<TAB>value lines; a line without a tab is a key with
//	           an empty value
//
// An app adds its own formats by name through task.App.InputFormats.
//
// # In place
//
// A split is either a staged file (Path: the split's bytes alone) or a
// byte range of the original input, read where it lies (Source: a file the
// worker opened for the task). Every format reads both the same way; text
// keys are Offset plus the position in the range either way.
//
// # Compressed input
//
// A split whose Name ends in ".gz" or ".zst" is decompressed as it is
// read (Decompress, keyed on the name, so any storage can use it), under
// every format: text keys are then offsets in the decompressed stream. Such
// a file is always one split (Compressed). Data that does not decode is
// an ErrCorrupt naming the file, which a task treats as fatal.
//
// # Limits
//
// Readers stream: memory does not grow with the size of the split, only
// with the longest line, which is bounded (DefaultMaxLine, 64 MiB); a
// longer line, or a wholefile input over its limit, fails with an error
// that names the input and offset.
package input
