package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// events is `go test -json` output of two packages: slow (one test
// passes, one fails) and fast, which finishes while slow still runs.
const events = `{"Action":"start","Package":"x/slow"}
{"Action":"run","Package":"x/slow","Test":"TestLong"}
{"Action":"output","Package":"x/slow","Test":"TestLong","Output":"=== RUN   TestLong\n"}
{"Action":"start","Package":"x/fast"}
{"Action":"output","Package":"x/fast","Output":"PASS\n"}
{"Action":"output","Package":"x/fast","Output":"ok  \tx/fast\t0.01s\n"}
{"Action":"pass","Package":"x/fast"}
TICK
{"Action":"output","Package":"x/slow","Test":"TestLong","Output":"    a_test.go:3: a log line of a passing test\n"}
{"Action":"output","Package":"x/slow","Test":"TestLong","Output":"--- PASS: TestLong (40.00s)\n"}
{"Action":"pass","Package":"x/slow","Test":"TestLong"}
{"Action":"run","Package":"x/slow","Test":"TestBad"}
{"Action":"output","Package":"x/slow","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"x/slow","Test":"TestBad","Output":"    b_test.go:9: boom\n"}
{"Action":"output","Package":"x/slow","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"x/slow","Test":"TestBad"}
{"Action":"output","Package":"x/slow","Output":"FAIL\n"}
{"Action":"output","Package":"x/slow","Output":"FAIL\tx/slow\t40.02s\n"}
{"Action":"fail","Package":"x/slow"}
`

func TestFollow(t *testing.T) {
	lines, tick := make(chan string), make(chan time.Time)
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		follow(lines, &out, tick)
	}()
	// Both channels are unbuffered: follow has handled every line sent
	// before the tick.
	for _, l := range strings.Split(strings.TrimSuffix(events, "\n"), "\n") {
		if l == "TICK" {
			tick <- time.Now().Add(time.Hour) // a quiet spell
			continue
		}
		lines <- l
	}
	close(lines)
	<-done
	want := "ok  \tx/fast\t0.01s\n" +
		"... 3600s: still testing x/slow (TestLong)\n" +
		"    b_test.go:9: boom\n--- FAIL: TestBad (0.00s)\nFAIL\nFAIL\tx/slow\t40.02s\n" +
		"FAIL\n"
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
