package task

// HashPartition is the default App.Partition: the 32-bit FNV-1a hash of
// the key modulo n. It is the same in every process on every machine.
func HashPartition(key string, n int) int {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= prime32
	}
	return int(h % uint32(n))
}
