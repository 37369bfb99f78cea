package client

import (
	"fmt"

	"github.com/distmr/dist/io/storage"
	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// smallFile is the size under which a file is packed: a map costs a
// process start and a launch, some 4 ms, about what it takes to read and
// map 64 KiB, so a smaller file's map is mostly that cost. A bigger file
// keeps a map of its own, as before packing: an input of ordinary files is
// planned as it always was, its maps spread over the slots.
const smallFile = 64 << 10

// packSplits puts runs of small files into one split each (Hadoop's
// CombineFileInputFormat): two thousand files of a kilobyte are better
// read by one map than by two thousand. Consecutive splits that are each
// a whole file under smallFile bytes, of one kind and on one worker, join
// a pack while it stays within the goal, spec.MaxPieces files and
// spec.MaxPieceNames bytes of names (the launch request carries them
// all). The goal is size, or with slots > 0 (the cluster's task slots)
// at most an equal share of the small files' bytes per slot, as Hadoop's
// goal size divides the input by the maps wanted: packing saves process
// starts, never leaves a slot without a map. Pieces keep the listing
// order. A pack of one file stays a plain split, and so does every split
// of a file cut in ranges.
func packSplits(splits []split, size int64, slots int) []split {
	goal := size
	if slots > 0 {
		var small int64
		for _, sp := range splits {
			if sp.small(size) {
				small += sp.Length
			}
		}
		goal = min(size, max(1, (small+int64(slots)-1)/int64(slots)))
	}
	var out, cur []split
	var bytes int64
	var names int
	flush := func() {
		switch len(cur) {
		case 0:
		case 1:
			out = append(out, cur[0])
		default:
			first := cur[0]
			out = append(out, split{Obj: storage.Object{Kind: first.Obj.Kind, Worker: first.Obj.Worker},
				Name: first.Name, Length: bytes, Pieces: cur})
		}
		cur, bytes, names = nil, 0, 0
	}
	for _, sp := range splits {
		if !sp.small(size) {
			flush()
			out = append(out, sp)
			continue
		}
		n := len(sp.Name) + len(sp.Path) + len(sp.Obj.Name)
		if len(cur) > 0 && (bytes+sp.Length > goal || len(cur) == spec.MaxPieces || names+n > spec.MaxPieceNames ||
			sp.Obj.Kind != cur[0].Obj.Kind || sp.Obj.Worker != cur[0].Obj.Worker) {
			flush()
		}
		cur = append(cur, sp)
		bytes += sp.Length
		names += n
	}
	flush()
	return out
}

// packs reports whether the job packs small files into splits: not an
// exec job, whose mapper learns its one input file when it starts
// (DIST_INPUT_FILE).
func (c *Config) packs() bool { return c.Kind != proto.KindExec }

// small reports whether sp is all of one file, and that file is small
// enough to pack: under smallFile and under the split size.
func (sp split) small(size int64) bool {
	return !sp.None && sp.Pieces == nil && !sp.Lines && sp.Offset == 0 && sp.Length == sp.Obj.Size &&
		sp.Length < min(size, smallFile)
}

// label names a split in messages: its file, or a packed split's first
// file and how many follow.
func (sp split) label() string {
	if len(sp.Pieces) > 0 {
		return fmt.Sprintf("%s and %d more files", sp.Pieces[0].Name, len(sp.Pieces)-1)
	}
	return sp.Name
}

// packedConfig is the task's view of a packed split; Length -1 makes a
// worker that predates packing fail the task (spec.Split.Pieces).
func packedConfig(sp split) spec.Split {
	s := spec.Split{Pack: spec.SplitFile, Length: -1, Pieces: make([]spec.Piece, len(sp.Pieces))}
	for i, p := range sp.Pieces {
		s.Pieces[i] = spec.Piece{Name: p.Name, Length: p.Length}
	}
	return s
}

// packedSource is a packed split read where its files live; name says
// what the worker calls each (inputSource).
func packedSource(sp split, name func(split) string) *proto.InputSource {
	src := &proto.InputSource{Kind: string(sp.Obj.Kind), Pieces: make([]proto.Piece, len(sp.Pieces))}
	for i, p := range sp.Pieces {
		src.Pieces[i] = proto.Piece{Name: name(p), Size: p.Obj.Size, Version: p.Obj.Version}
	}
	return src
}
