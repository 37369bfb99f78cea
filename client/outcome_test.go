package client

import (
	"errors"
	"fmt"
	"testing"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/task/spec"
	"github.com/distmr/dist/tracker"
)

// Every way an attempt can end, and what it means for the job.
func TestOutcomeOf(t *testing.T) {
	busy := proto.Retryablef(proto.CodeBusy, "worker w1 is busy")
	draining := proto.Retryablef(proto.CodeShuttingDown, "worker w1 is shutting down")
	failed := proto.Errorf(proto.CodeTaskFailed, "exit status 3")
	res := &spec.Result{Status: spec.StatusOK}
	final := func(err *proto.Error) *proto.Event {
		return &proto.Event{Final: true, Error: err, StderrTail: "panic: boom", Result: res}
	}
	missing := func(code string) attemptEnd {
		ev := final(proto.Errorf(code, "m-00002 attempt 1"))
		ev.MissingMap, ev.MissingAttempt = "m-00002", 1
		return attemptEnd{step: launching, err: ev.Error, ev: ev, ran: true}
	}
	ok := outcomeOf(attemptEnd{step: fetching, ev: &proto.Event{Final: true, Result: res}}, nil)
	if ok.Kind != tracker.Ran || ok.Err != nil || ok.Result != res || ok.BadMap != nil {
		t.Fatalf("success: %+v", ok)
	}
	for _, c := range []struct {
		name  string
		end   attemptEnd
		dead  bool // the session to the worker has died
		want  tracker.OutcomeKind
		tells bool // the Outcome carries the final event's result and stderr
	}{
		{"dial failed", attemptEnd{step: connecting, err: errors.New("refused")}, true, tracker.Lost, false},
		{"ship refused as busy: kept for later attempts", attemptEnd{step: shipping, err: busy}, false, tracker.Ran, false},
		{"ship refused as busy, session died", attemptEnd{step: shipping, err: busy}, true, tracker.Lost, false},
		{"ship refused as draining", attemptEnd{step: shipping, err: draining}, false, tracker.Draining, false},
		{"input refused as busy", attemptEnd{step: sendingInput, err: busy}, false, tracker.Busy, false},
		{"input refused as draining", attemptEnd{step: sendingInput, err: draining}, false, tracker.Draining, false},
		{"launch refused as busy", attemptEnd{step: launching, err: busy, ev: final(busy)}, false, tracker.Busy, false},
		{"launch refused as draining", attemptEnd{step: launching, err: draining, ev: final(draining)}, true, tracker.Draining, false},
		{"busy after it ran", attemptEnd{step: launching, err: busy, ev: final(busy), ran: true}, false, tracker.Ran, true},
		{"killed as the worker shuts down", attemptEnd{step: launching, err: draining, ev: final(draining), ran: true}, false, tracker.Lost, true},
		{"task failed", attemptEnd{step: launching, err: failed, ev: final(failed), ran: true}, false, tracker.Ran, true},
		{"task failed, session died", attemptEnd{step: launching, err: failed, ev: final(failed), ran: true}, true, tracker.Lost, true},
		{"stopped by the tracker", attemptEnd{step: launching, err: errors.New("killed"), stopped: true}, true, tracker.Ran, false},
		{"plugin for another host", attemptEnd{step: launching, err: proto.Errorf(proto.CodeVersion, "go1.22"),
			ev: final(proto.Errorf(proto.CodeVersion, "go1.22"))}, true, tracker.Fatal, true},
		{"map output missing", missing(proto.CodeFetchFailed), false, tracker.MapMissing, true},
		{"map output damaged", missing(proto.CodeChecksum), false, tracker.MapDamaged, true},
		{"fetch failed", attemptEnd{step: fetching, err: fmt.Errorf("fetch: %w", errChecksum)}, false, tracker.Ran, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := outcomeOf(c.end, func() bool { return !c.dead })
			if o.Kind != c.want || o.Err != c.end.err {
				t.Fatalf("kind %v, err %v; want %v, %v", o.Kind, o.Err, c.want, c.end.err)
			}
			if told := o.Result != nil && o.StderrTail != ""; told != c.tells {
				t.Errorf("result %v, stderr %q: want them told %v", o.Result, o.StderrTail, c.tells)
			}
			bad := o.Kind == tracker.MapMissing || o.Kind == tracker.MapDamaged
			if bad && (o.BadMap == nil || *o.BadMap != tracker.MapRef{Map: 2, Attempt: 1}) || !bad && o.BadMap != nil {
				t.Errorf("kind %v with BadMap %+v", o.Kind, o.BadMap)
			}
		})
	}
}
