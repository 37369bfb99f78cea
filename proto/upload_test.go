package proto

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/distmr/dist/io/storage"
)

// A pending S3 part crosses the wire whole: worker to client.
func TestUploadCarriesPending(t *testing.T) {
	p := storage.Pending{Name: "s3://b/out/part-00001", UploadID: "u-1", Size: 7, CRC32C: 0xdeadbeef,
		Parts: []storage.UploadPart{{Number: 1, ETag: "e1", Size: 5}, {Number: 2, ETag: "e2", Size: 2}}}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, &Event{Final: true, Upload: UploadOf(p)}); err != nil {
		t.Fatal(err)
	}
	var ev Event
	if err := ReadFrame(&buf, MaxFrame, &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.Upload.Pending(); !reflect.DeepEqual(got, p) {
		t.Fatalf("sent %+v, received %+v", p, got)
	}
}
