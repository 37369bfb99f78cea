package msgpackx

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

type withTime struct {
	Started time.Time         `msgpack:"started"`
	Name    string            `msgpack:"name"`
	Tags    map[string]string `msgpack:"tags"`
	List    []int             `msgpack:"list"`
}

func TestUnmarshalRoundTrip(t *testing.T) {
	in := withTime{Started: time.Unix(1700000000, 5).UTC(), Name: "w", Tags: map[string]string{"a": "b"}, List: []int{1, 2, 3}}
	b, err := msgpack.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out withTime
	if err := Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Started.Equal(in.Started) || out.Name != in.Name || out.Tags["a"] != "b" || len(out.List) != 3 {
		t.Fatalf("round trip: %+v", out)
	}
}

// msgpack v5.4.1 panics decoding nil into a time.Time; Unmarshal must turn
// that into an error.
func TestUnmarshalNilTimeIsAnError(t *testing.T) {
	b, err := msgpack.Marshal(map[string]any{"started": nil})
	if err != nil {
		t.Fatal(err)
	}
	var v withTime
	err = Unmarshal(b, &v)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("Unmarshal = %v, want ErrMalformed", err)
	}
}

func TestCheckRefusesHostileLengths(t *testing.T) {
	for _, tc := range []struct{ name, b, want string }{
		{"empty", "", "ends after 0 bytes"},
		{"0xc1", "\xc1", "never valid"},
		{"bin32 huge", "\xc6\x7f\xff\xff\x00", "declares 2147483392 bytes"},
		{"str32 huge", "\xdb\xff\xff\xff\xff", "declares"},
		{"array32 huge", "\xdd\x7f\xff\xff\x00", "declares 2147483392 items"},
		{"map32 huge", "\xdf\x7f\xff\xff\x00", "items"},
		{"ext32 huge", "\xc9\x7f\xff\xff\x00\x01", "declares"},
		{"short length", "\xdb\x00", "inside a length"},
		{"too deep", strings.Repeat("\x91", 40) + "\xc0", "nested more than 32"},
		{"trailing", "\xc0\xc0", "1 bytes follow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check([]byte(tc.b), MaxDepth)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check(%q) = %v, want ErrMalformed mentioning %q", tc.b, err, tc.want)
			}
		})
	}
}

// FuzzUnmarshal: arbitrary bytes never panic, and never make the decoder
// allocate far beyond their size.
func FuzzUnmarshal(f *testing.F) {
	good, _ := msgpack.Marshal(&withTime{Started: time.Unix(1, 0), Name: "x", Tags: map[string]string{"k": "v"}, List: []int{1}})
	f.Add(good)
	f.Add([]byte("\x81\xa7started\xc0"))
	f.Add([]byte("\x81\xa4list\xdd\x7f\xff\xff\x00"))
	f.Add([]byte("\x81\xa4tags\xdf\x00\x00\x00\x01\xa1k\xc7\x01\xff\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m0, m1 runtime.MemStats
		big := len(b) > 4096
		if !big {
			runtime.ReadMemStats(&m0)
		}
		var v withTime
		_ = Unmarshal(b, &v)
		var a any
		_ = Unmarshal(b, &a)
		if !big {
			runtime.ReadMemStats(&m1)
			if d := m1.TotalAlloc - m0.TotalAlloc; d > 64<<20 {
				t.Fatalf("%d bytes made the decoder allocate %d MiB", len(b), d>>20)
			}
		}
	})
}
