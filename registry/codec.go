package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/distmr/dist/internal/msgpackx"
)

// maxNodeData bounds the bytes decoded from one worker node. WorkerInfo
// is a few hundred bytes (about 2 KB with a plugin host's package
// fingerprints); anything near ZooKeeper's 1 MiB node limit is
// not ours.
const maxNodeData = 64 << 10

// EncodeWorkerInfo is the node data of a worker: msgpack(info).
func EncodeWorkerInfo(info WorkerInfo) ([]byte, error) {
	b, err := msgpack.Marshal(&info)
	if err != nil {
		return nil, fmt.Errorf("encoding worker %q: %w", info.ID, err)
	}
	return b, nil
}

// DecodeWorkerInfo decodes the data of node name. An empty ID is taken
// from the node name; a different ID is an error, as is anything that is
// not a msgpack WorkerInfo. Errors wrap ErrMalformed.
func DecodeWorkerInfo(name string, data []byte) (WorkerInfo, error) {
	var info WorkerInfo
	if len(data) == 0 {
		return info, fmt.Errorf("%w %q: empty", ErrMalformed, name)
	}
	if len(data) > maxNodeData {
		return info, fmt.Errorf("%w %q: %d bytes, more than %d", ErrMalformed, name, len(data), maxNodeData)
	}
	if err := unmarshal(data, &info); err != nil {
		return WorkerInfo{}, fmt.Errorf("%w %q: %v", ErrMalformed, name, err)
	}
	if info.ID == "" {
		info.ID = name
	}
	if info.ID != name {
		return WorkerInfo{}, fmt.Errorf("%w %q: it holds worker id %q", ErrMalformed, name, info.ID)
	}
	return info, nil
}

// unmarshal decodes msgpack from the network defensively. msgpack v5.4.1
// has traps for hostile input: lengths it allocates before reading, and
// inputs that panic (nil for a time.Time field, {"started": nil});
// msgpackx checks the bytes first and recovers.
func unmarshal(data []byte, v any) error {
	return msgpackx.Unmarshal(data, v)
}

// sortWorkers orders a set by ID, the order every Lister returns.
func sortWorkers(ws []WorkerInfo) {
	slices.SortFunc(ws, func(a, b WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
}

// cloneWorkers copies a set so a receiver may keep or change it.
func cloneWorkers(ws []WorkerInfo) []WorkerInfo {
	out := make([]WorkerInfo, len(ws))
	for i, w := range ws {
		w.Flags = slices.Clone(w.Flags)
		w.Plugin = w.Plugin.clone()
		out[i] = w
	}
	return out
}

// sameWorkers reports whether two sorted sets hold equal entries.
func sameWorkers(a, b []WorkerInfo) bool {
	return slices.EqualFunc(a, b, sameWorker)
}

func sameWorker(a, b WorkerInfo) bool {
	return a.ID == b.ID && a.Addr == b.Addr && a.Slots == b.Slots &&
		a.Version == b.Version && a.GoVersion == b.GoVersion &&
		a.OS == b.OS && a.Arch == b.Arch && a.Started.Equal(b.Started) &&
		slices.Equal(a.Flags, b.Flags) && samePluginABI(a.Plugin, b.Plugin) && a.Draining == b.Draining &&
		a.Masters == b.Masters
}
