package workerproc

import "testing"

// A local worker's stdout says when it is ready and when it drains; the
// lines may arrive in pieces.
func TestReadyWriterFollowsDraining(t *testing.T) {
	rw := newReadyWriter()
	for _, chunk := range []string{"noise\ndist worker rea", "dy id=w1 addr=127.0.0.1:7070\nmore noise\n", "dist worker draining", " id=w1\n"} {
		if _, err := rw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		if chunk == "dist worker draining" {
			select {
			case <-rw.draining:
				t.Fatal("draining before its line ended")
			default:
			}
		}
	}
	if info := <-rw.ready; info.ID != "w1" || info.Addr != "127.0.0.1:7070" {
		t.Fatalf("ready line parsed as %+v", info)
	}
	select {
	case <-rw.draining:
	default:
		t.Fatal("the draining line was not seen")
	}
}

// What a worker prints is what a starter reads, metrics address included.
func TestReadyLineRoundTrip(t *testing.T) {
	for _, want := range []Ready{{ID: "w1", Addr: "127.0.0.1:7070"}, {ID: "w2", Addr: "[::1]:1", Metrics: "127.0.0.1:9170"}} {
		if got := parseReady(ReadyLine(want.ID, want.Addr, want.Metrics)); got != want {
			t.Errorf("%q parsed as %+v", ReadyLine(want.ID, want.Addr, want.Metrics), got)
		}
	}
}
