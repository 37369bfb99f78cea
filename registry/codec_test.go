package registry

import (
	"errors"
	"runtime"
	"testing"
)

func TestWorkerInfoRoundTrip(t *testing.T) {
	want := info("w1")
	b, err := EncodeWorkerInfo(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWorkerInfo("w1", b)
	if err != nil || !sameWorker(got, want) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, want)
	}
}

func TestDecodeWorkerInfoFillsID(t *testing.T) {
	in := info("")
	b, err := EncodeWorkerInfo(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWorkerInfo("w9", b)
	if err != nil || got.ID != "w9" {
		t.Fatalf("DecodeWorkerInfo = %+v, %v; want ID w9", got, err)
	}
}

func TestDecodeWorkerInfoMalformed(t *testing.T) {
	other, _ := EncodeWorkerInfo(info("other"))
	for name, data := range map[string][]byte{
		"empty":     nil,
		"garbage":   []byte{0xc1, 0x00},
		"string":    []byte{0xa3, 'a', 'b', 'c'},
		"truncated": other[:len(other)/2],
		"wrong id":  other,
		"too big":   make([]byte, maxNodeData+1),
		// msgpack v5.4.1 panics decoding nil into a time.Time.
		"nil time in a map":    append([]byte{0x81, 0xa7}, "started\xc0"...),
		"nil time in an array": {0x98, 0xa2, 'w', '1', 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0},
	} {
		if _, err := DecodeWorkerInfo("w1", data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestDecodeWorkerInfoMemoryBounded(t *testing.T) {
	// An unknown field holding an ext32 that claims 4 GiB. msgpack's
	// pooled decoders (msgpack.Unmarshal) keep a buffer that grew 1 MiB
	// per such input. One GC leaves pooled objects alive (in the victim
	// cache), so the heap shows what the pool holds.
	hostile := []byte{0x81, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xf0, 0x00}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := 0; i < 100; i++ {
		if _, err := DecodeWorkerInfo("w1", hostile); !errors.Is(err, ErrMalformed) {
			t.Fatalf("DecodeWorkerInfo = %v, want ErrMalformed", err)
		}
	}
	if grown := int64(heap()) - int64(before); grown > 64<<20 {
		t.Fatalf("heap grew by %d MiB over 100 hostile decodes", grown>>20)
	}
}

func FuzzDecodeWorkerInfo(f *testing.F) {
	good, _ := EncodeWorkerInfo(info("w1"))
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeWorkerInfo("w1", data)
		if err == nil && got.ID != "w1" {
			t.Fatalf("decoded ID %q from node w1", got.ID)
		}
	})
}
