package task

import "sort"

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

// rangePartition is the partition of a totally ordered job
// (spec.Config.Order): key k goes to the partition i with
// cuts[i-1] <= k < cuts[i], found by binary search, so partition i holds
// only keys before those of partition i+1, in the byte order the reduce
// side sorts by. Equal cut points leave the partitions between them
// empty, and all of the key they name goes to the one after.
func rangePartition(cuts []string) func(key string, n int) int {
	return func(key string, _ int) int {
		return sort.Search(len(cuts), func(i int) bool { return cuts[i] > key })
	}
}
