package worker

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distmr/dist/proto"
)

// taskLogs asks w for the logs of job's task ("" for all).
func taskLogs(t *testing.T, s *proto.Session, job, task string) []proto.AttemptLog {
	t.Helper()
	logs, err := s.TaskLogs(testContext(t), job, task)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// TestTaskLogsServesAttemptsAndMaster runs a failing and a succeeding map
// (the latter with more stderr than is served) and reads their stderr
// while the job runs and after it ended, with the job master's log, over
// a session that needs the secret.
func TestTaskLogsServesAttemptsAndMaster(t *testing.T) {
	secret := []byte("0123456789abcdef-tasklogs")
	masters := t.TempDir()
	masterLog := filepath.Join(masters, "job1", "master.log")
	if err := os.MkdirAll(filepath.Dir(masterLog), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(masterLog, []byte("master says hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newTestWorker(t, func(c *Config) {
		c.Secret = secret
		c.KeepFailed = time.Hour
		c.MasterLog = func(job string) (string, bool) { return masterLog, job == "job1" }
	})
	if _, err := proto.Dial(testContext(t), w.Addr(), proto.Options{}); !proto.IsAuth(err) {
		t.Fatalf("TaskLogs without the secret: dial error %v, want an auth error", err)
	}
	s := connect(t, w, secret)
	art := putTestApp(t, s)
	putInput(t, s, "job1", "m-00000", 0, "a b\n")
	if evs := runToEnd(t, s, mapRequest("job1", 0, 0, 1, art, map[string]string{"mode": "fail"})); evs[len(evs)-1].Error == nil {
		t.Fatal("the failing attempt succeeded")
	}
	putInput(t, s, "job1", "m-00001", 0, "c d\n")
	if evs := runToEnd(t, s, mapRequest("job1", 1, 0, 1, art, map[string]string{"mode": "chatty"})); evs[len(evs)-1].Error != nil {
		t.Fatalf("the chatty attempt failed: %v", evs[len(evs)-1].Error)
	}

	check := func(when string, logs []proto.AttemptLog) {
		t.Helper()
		if len(logs) != 3 {
			t.Fatalf("%s: %d logs, want the master's and 2 attempts': %+v", when, len(logs), logs)
		}
		failed, chatty, master := logs[0], logs[1], logs[2]
		if failed.Task != "m-00000" || failed.Attempt != 0 || !strings.Contains(string(failed.Stderr), "boom") || failed.Truncated {
			t.Errorf("%s: failed attempt's log: %s attempt %d truncated %v: %q", when, failed.Task, failed.Attempt, failed.Truncated, failed.Stderr)
		}
		if chatty.Task != "m-00001" || !chatty.Truncated || len(chatty.Stderr) != proto.MaxTaskLog ||
			!strings.HasSuffix(string(chatty.Stderr), "chatter line 09999\nchatty done\n") {
			t.Errorf("%s: succeeded attempt's log: %s truncated %v, %d bytes ending %q", when, chatty.Task, chatty.Truncated,
				len(chatty.Stderr), chatty.Stderr[max(len(chatty.Stderr)-40, 0):])
		}
		if master.Task != "master" || string(master.Stderr) != "master says hello\n" {
			t.Errorf("%s: master's log: %+v", when, master)
		}
	}
	check("while the job runs", taskLogs(t, s, "job1", ""))
	var r proto.Reply
	if err := s.Call(testContext(t), proto.OpEndJob, "job1", &proto.EndJobRequest{Job: "job1"}, &r); err != nil {
		t.Fatal(err)
	}
	check("after the job ended", taskLogs(t, s, "job1", ""))

	if logs := taskLogs(t, s, "job1", "m-00000"); len(logs) != 1 || logs[0].Task != "m-00000" {
		t.Errorf("logs of m-00000 alone: %+v", logs)
	}
	if logs := taskLogs(t, s, "job1", "master"); len(logs) != 1 || logs[0].Task != "master" {
		t.Errorf("logs of the master alone: %+v", logs)
	}
	if logs := taskLogs(t, s, "job2", ""); len(logs) != 0 {
		t.Errorf("logs of a job the worker never saw: %+v", logs)
	}
	_, err := s.TaskLogs(testContext(t), "../job1", "")
	wireCode(t, err, proto.CodeBadRequest, "not a safe name")
}

// TestTaskLogsSpanFrames writes more logs than one frame holds and reads
// them all back, in order.
func TestTaskLogsSpanFrames(t *testing.T) {
	var logs []proto.AttemptLog
	for i := range 40 {
		logs = append(logs, proto.AttemptLog{Task: fmt.Sprintf("m-%05d", i), Stderr: bytes.Repeat([]byte{'x'}, proto.MaxTaskLog)})
	}
	for i := range 20000 { // small ones, whose names alone outgrow a frame
		logs = append(logs, proto.AttemptLog{Task: fmt.Sprintf("r-%05d", i), Attempt: 1})
	}
	var buf bytes.Buffer
	if err := writeLogs(&buf, logs); err != nil {
		t.Fatal(err)
	}
	var got []proto.AttemptLog
	frames := 0
	for {
		var r proto.TaskLogsReply
		if err := proto.ReadFrame(&buf, proto.MaxFrame, &r); err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		frames++
		got = append(got, r.Logs...)
		if !r.More {
			break
		}
	}
	if buf.Len() != 0 || len(got) != len(logs) || frames < 4 {
		t.Fatalf("%d logs in %d frames, %d bytes left; want %d logs in 4 or more", len(got), frames, buf.Len(), len(logs))
	}
	for i := range logs {
		if got[i].Task != logs[i].Task || len(got[i].Stderr) != len(logs[i].Stderr) {
			t.Fatalf("log %d: %s, %d bytes; want %s, %d", i, got[i].Task, len(got[i].Stderr), logs[i].Task, len(logs[i].Stderr))
		}
	}
}
