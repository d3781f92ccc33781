package tokenizer

import "encoding/json"

// bpeModel is the BPE model of tokenizer.json with its merge table.
type bpeModel struct {
	vocab     map[string]int32  // token (ByteLevel symbols) → id
	vocabR    []string          // [max id + 1] id → token
	hasID     []bool            // [max id + 1] whether the id is in the vocabulary
	merges    map[uint64]uint64 // pairKey(left, right) → rank<<32 | merged id
	table     *mergeTable       // the same, for fast lookups
	mergeList [][2]string       // merges in rank order, as read (for Save)
	byteIDs   [256]int32        // id of each byte's symbol, -1 when the vocabulary lacks it

	unkID        int32 // id of unk_token, -1 when there is none
	unkToken     string
	hasUnk       bool
	fuseUnk      bool
	ignoreMerges bool
	dropout      json.Number // kept for Save: "" for null, else a zero
	emptyPrefix  bool        // continuing_subword_prefix was "" rather than null
	emptySuffix  bool        // end_of_word_suffix was "" rather than null
}

// pairKey packs the ids of two adjacent symbols into a map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// noMerge is the rank of a pair that has no merge.
const noMerge = ^uint32(0)

// lookup returns the rank and the merged id of the pair (a, b), or noMerge.
func (m *bpeModel) lookup(a, b int32) (rank uint32, id int32) {
	v, ok := m.table.get(pairKey(a, b))
	if !ok {
		return noMerge, -1
	}
	return uint32(v >> 32), int32(uint32(v))
}

// wordScratch holds the buffers of one BPE word encoding, reused between
// words by one encoder.
type wordScratch struct {
	ids   []int32  // [n] symbol ids of the word being merged
	ranks []uint32 // [n] rank of the pair (ids[k], ids[k+1]); the last is noMerge
	merge []int32  // [n] merged id of that pair
	heap  []uint64 // rank<<32 | position, a binary min-heap (long words)
	next  []int32  // [n] linked list of live symbols (long words)
	prev  []int32  // [n]
	len   []int32  // [n] byte length of each symbol, 0 once merged away
}

// shortWord is the symbol count up to which the quadratic merge loop is used;
// longer words use a heap.
const shortWord = 16

// initialSymbols appends to ids the symbol ids of word's bytes and returns
// them; unknown bytes become unk (fused when fuse_unk) or are dropped, as in
// Hugging Face's BPE.
func (m *bpeModel) initialSymbols(ids []int32, word string) []int32 {
	ids = ids[:0]
	prevUnk := false
	for i := 0; i < len(word); i++ {
		id := m.byteIDs[word[i]]
		if id >= 0 {
			ids = append(ids, id)
			prevUnk = false
			continue
		}
		if !m.hasUnk {
			continue
		}
		if m.fuseUnk && prevUnk {
			continue
		}
		ids = append(ids, m.unkID)
		prevUnk = true
	}
	return ids
}

// encodeWord appends the ids of one pre-tokenized word (raw bytes) to dst.
func (m *bpeModel) encodeWord(dst []int32, word string, s *wordScratch, symBuf *[]byte) []int32 {
	if m.ignoreMerges {
		*symBuf = appendSymbols((*symBuf)[:0], word)
		if id, ok := m.vocab[string(*symBuf)]; ok {
			return append(dst, id)
		}
	}
	s.ids = m.initialSymbols(s.ids, word)
	if len(s.ids) > shortWord {
		return m.mergeLong(dst, s)
	}
	return append(dst, m.mergeShort(s)...)
}

// mergeShort merges s.ids in place, lowest rank first and leftmost among
// equal ranks, and returns the merged ids. Each round scans the pair ranks
// for the minimum and only recomputes the two pairs next to the merge.
func (m *bpeModel) mergeShort(s *wordScratch) []int32 {
	ids := s.ids
	n := len(ids)
	if n < 2 {
		return ids
	}
	if cap(s.ranks) < n {
		s.ranks = make([]uint32, n, 2*n)
		s.merge = make([]int32, n, 2*n)
	}
	ranks, merged := s.ranks[:n-1], s.merge[:n-1] // [n-1] pair k is (ids[k], ids[k+1])
	for k := 0; k < n-1; k++ {
		ranks[k], merged[k] = m.lookup(ids[k], ids[k+1])
	}
	for {
		best, at := noMerge, -1
		for k, r := range ranks {
			if r < best {
				best, at = r, k
			}
		}
		if at < 0 {
			return ids
		}
		ids[at] = merged[at]
		copy(ids[at+1:], ids[at+2:])
		ids = ids[:len(ids)-1]
		copy(ranks[at:], ranks[at+1:])
		ranks = ranks[:len(ranks)-1]
		copy(merged[at:], merged[at+1:])
		merged = merged[:len(merged)-1]
		if at > 0 {
			ranks[at-1], merged[at-1] = m.lookup(ids[at-1], ids[at])
		}
		if at < len(ranks) {
			ranks[at], merged[at] = m.lookup(ids[at], ids[at+1])
		}
	}
}

// mergeLong merges a long word with a heap of candidate pairs keyed by
// (rank, position), as Hugging Face does, so that the work grows as n log n.
// Symbols live in s.ids at their original positions, chained by next/prev;
// a merged-away symbol has len 0.
func (m *bpeModel) mergeLong(dst []int32, s *wordScratch) []int32 {
	ids := s.ids
	n := len(ids)
	if cap(s.next) < n {
		s.next = make([]int32, n, 2*n)
		s.prev = make([]int32, n, 2*n)
		s.len = make([]int32, n, 2*n)
	}
	next, prev, live := s.next[:n], s.prev[:n], s.len[:n]
	h := s.heap[:0]
	for k := 0; k < n; k++ {
		next[k], prev[k], live[k] = int32(k+1), int32(k-1), 1
		if k+1 < n {
			if r, _ := m.lookup(ids[k], ids[k+1]); r != noMerge {
				h = heapPush(h, uint64(r)<<32|uint64(k))
			}
		}
	}
	next[n-1] = -1
	for len(h) > 0 {
		var top uint64
		top, h = heapPop(h)
		rank, pos := uint32(top>>32), int32(uint32(top))
		if live[pos] == 0 || next[pos] < 0 {
			continue
		}
		right := next[pos]
		r, id := m.lookup(ids[pos], ids[right])
		if r != rank {
			continue // stale: the pair at pos has changed since it was pushed
		}
		ids[pos] = id
		live[right] = 0
		next[pos] = next[right]
		if next[pos] >= 0 {
			prev[next[pos]] = pos
			if r2, _ := m.lookup(id, ids[next[pos]]); r2 != noMerge {
				h = heapPush(h, uint64(r2)<<32|uint64(pos))
			}
		}
		if p := prev[pos]; p >= 0 {
			if r2, _ := m.lookup(ids[p], id); r2 != noMerge {
				h = heapPush(h, uint64(r2)<<32|uint64(p))
			}
		}
	}
	s.heap = h
	for k := int32(0); k >= 0; k = next[k] {
		dst = append(dst, ids[k])
	}
	return dst
}

// heapPush adds v to the binary min-heap h.
func heapPush(h []uint64, v uint64) []uint64 {
	h = append(h, v)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if h[p] <= v {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = v
	return h
}

// heapPop removes and returns the smallest value of the non-empty heap h.
func heapPop(h []uint64) (uint64, []uint64) {
	top := h[0]
	last := h[len(h)-1]
	h = h[:len(h)-1]
	n := len(h)
	if n == 0 {
		return top, h
	}
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1] < h[c] {
			c++
		}
		if last <= h[c] {
			break
		}
		h[i] = h[c]
		i = c
	}
	h[i] = last
	return top, h
}
