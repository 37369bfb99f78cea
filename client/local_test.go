package client

import (
	"testing"

	"github.com/distmr/dist/registry"
)

// A local worker's stdout says when it is ready and when it drains; the
// lines may arrive in pieces.
func TestReadyWriterFollowsDraining(t *testing.T) {
	rw := &readyWriter{ready: make(chan registry.WorkerInfo, 1), draining: make(chan struct{})}
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
