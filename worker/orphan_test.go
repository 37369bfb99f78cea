package worker

import (
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/proto"
)

// TestHostedJobKeptForANewMaster: when the session of a hosted job's
// master closes, the worker keeps the job for OrphanGrace. A new master
// can still fetch the finished map's output, and read the failed
// attempt's stderr: the worker keeps its logs before it removes the
// attempt's directory.
func TestHostedJobKeptForANewMaster(t *testing.T) {
	w := newTestWorker(t, func(c *Config) {
		c.KeepFailed = time.Hour
		c.OrphanGrace = time.Hour
	})
	s1 := connect(t, w, nil)
	art := putTestApp(t, s1)
	putInput(t, s1, "job1", "m-00000", 0, "the cat saw the dog\n")
	ok := mapRequest("job1", 0, 0, 1, art, nil)
	ok.Hosted = true
	evs := runToEnd(t, s1, ok)
	res := evs[len(evs)-1].Result
	if evs[len(evs)-1].Error != nil || res == nil {
		t.Fatalf("the map failed: %v", evs[len(evs)-1].Error)
	}
	putInput(t, s1, "job1", "m-00001", 0, "x\n")
	bad := mapRequest("job1", 1, 0, 1, art, map[string]string{"mode": "fail"})
	bad.Hosted = true
	if evs := runToEnd(t, s1, bad); evs[len(evs)-1].Error == nil {
		t.Fatal("the failing map succeeded")
	}
	s1.Close()

	waitFor(t, "the worker to keep the job without its master", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for k := range w.attempts {
			if k.job == "job1" && k.task == "m-00001" {
				return false
			}
		}
		return w.orphans["job1"] != nil
	})
	s2 := connect(t, w, nil)
	logs := taskLogs(t, s2, "job1", "m-00001")
	if len(logs) != 1 || !strings.Contains(string(logs[0].Stderr), "boom") {
		t.Errorf("the failed attempt's logs after its master left: %+v", logs)
	}
	body, _, err := fetch(testContext(t), s2, proto.OpFetchPartition, "job1", &proto.FetchPartitionRequest{
		AttemptRef: proto.AttemptRef{Job: "job1", Task: "m-00000"}, Partition: 0})
	if err != nil || int64(len(body)) != res.Outputs[0].Size || len(body) == 0 {
		t.Fatalf("the finished map's output after its master left: %d bytes, %v; want %d", len(body), err, res.Outputs[0].Size)
	}
}
