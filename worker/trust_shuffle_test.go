package worker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
)

// TestDamagedLocalMapOutputNamesTheMap: a map output on the reduce's own
// worker is linked without being read, so one that changed on disk after
// its map reported it is caught by the reduce as it reads it. The final
// event then names the map like a failed fetch (code checksum), so that
// the map runs again and the reduce is not charged.
func TestDamagedLocalMapOutputNamesTheMap(t *testing.T) {
	w := newTestWorker(t, nil)
	s := connect(t, w, nil)
	art := putTestApp(t, s)
	res := runMap(t, s, "j", 0, 1, art, "apple banana apple\n")
	out := res.Outputs[0]
	path := filepath.Join(attemptDirOf(w, "j", "m-00000", 0), spec.OutDir, out.Name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1]++ // banana's "1" becomes "2": same size, still sorted
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	fetch := []proto.MapOutput{{WorkerID: w.ID(), Task: "m-00000", Partition: 0, Size: out.Size, CRC32C: out.CRC32C}}
	evs := runToEnd(t, s, reduceRequest("j", 0, 1, art, fetch))
	final := evs[len(evs)-1]
	e := wireCode(t, final.Error, proto.CodeChecksum, "map m-00000 attempt 0")
	if !e.Retryable || final.MissingMap != "m-00000" || final.MissingAttempt != 0 {
		t.Fatalf("final event does not name the map to run again: missing %q attempt %d, error %+v",
			final.MissingMap, final.MissingAttempt, e)
	}
	if final.Result == nil || final.Result.BadInput == nil || final.Result.BadInput.Map != "m-00000" {
		t.Fatalf("result does not name the bad input: %+v", final.Result)
	}
}
