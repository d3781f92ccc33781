package tokenizer

// mergeTable is an open-addressing hash table from a pair of ids to its
// merge (rank<<32 | merged id), built once when a tokenizer is loaded. It is
// several times faster than a Go map for this one lookup that the BPE loop
// makes for every pair.
type mergeTable struct {
	keys  []uint64 // [size] pairKey, or emptyKey
	vals  []uint64 // [size] rank<<32 | merged id
	mask  uint64   // size-1, size a power of two
	shift uint     // 64 - log2(size)
}

// emptyKey marks a free slot; no pair of valid ids (both < 2^24) packs to it.
const emptyKey = ^uint64(0)

// newMergeTable builds a table holding m, at most half full.
func newMergeTable(m map[uint64]uint64) *mergeTable {
	size, bits := 16, uint(4)
	for size < 2*len(m) {
		size *= 2
		bits++
	}
	t := &mergeTable{
		keys:  make([]uint64, size),
		vals:  make([]uint64, size),
		mask:  uint64(size - 1),
		shift: 64 - bits,
	}
	for i := range t.keys {
		t.keys[i] = emptyKey
	}
	for k, v := range m {
		i := t.slot(k)
		for t.keys[i] != emptyKey {
			i = (i + 1) & t.mask
		}
		t.keys[i], t.vals[i] = k, v
	}
	return t
}

// slot is the home slot of key k (Fibonacci hashing).
func (t *mergeTable) slot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> t.shift }

// get returns the value of k and whether it is present.
func (t *mergeTable) get(k uint64) (uint64, bool) {
	i := t.slot(k)
	for {
		switch t.keys[i] {
		case k:
			return t.vals[i], true
		case emptyKey:
			return 0, false
		}
		i = (i + 1) & t.mask
	}
}
