package registry

import "testing"

func TestPluginABIRoundTrip(t *testing.T) {
	want := info("w1")
	want.Plugin = &PluginABI{
		Flags:  []string{"-trimpath=true", "GOAMD64=v1"},
		Hashes: map[string]string{"runtime": "0011223344556677", "github.com/distmr/dist/task": "8899aabbccddeeff"},
	}
	b, err := EncodeWorkerInfo(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWorkerInfo("w1", b)
	if err != nil || !sameWorker(got, want) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, want)
	}
	other := cloneWorkers([]WorkerInfo{want})[0]
	other.Plugin.Hashes["runtime"] = "ffffffffffffffff"
	if sameWorker(want, other) || want.Plugin.Hashes["runtime"] != "0011223344556677" {
		t.Fatal("a clone shares its plugin fingerprints, or a changed fingerprint went unnoticed")
	}
	noPlugins := info("w1")
	if sameWorker(noPlugins, want) {
		t.Fatal("a worker that cannot host plugins equals one that can")
	}
}
