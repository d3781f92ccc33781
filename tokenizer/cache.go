package tokenizer

import "hash/maphash"

// wordCache remembers the ids of recently seen words. It is direct-mapped:
// each word hashes to one slot and a new word simply replaces the old one,
// so a lookup costs one hash and one comparison. Keys and ids live in two
// arenas that are dropped together when they fill up.
type wordCache struct {
	seed  maphash.Seed
	slots []cacheSlot // [cacheSlots]
	keys  []byte      // key bytes of the cached words
	ids   []int32     // ids of the cached words
}

// cacheSlot locates one cached word in the arenas.
type cacheSlot struct {
	hash   uint64 // 0 for an empty slot
	keyOff uint32
	idOff  uint32
	keyLen uint16
	idLen  uint16
}

// Cache sizes: the number of slots (a power of two), the longest word that
// is cached, and the arena sizes after which the cache starts over.
const (
	cacheSlots   = 1 << 14
	cacheWordLen = 64
	cacheKeyMax  = 1 << 20
	cacheIDMax   = 1 << 19
)

func newWordCache() *wordCache {
	return &wordCache{seed: maphash.MakeSeed(), slots: make([]cacheSlot, cacheSlots)}
}

// hash returns the non-zero hash of word.
func (c *wordCache) hash(word string) uint64 { return maphash.String(c.seed, word) | 1 }

// get returns the cached ids of word (with its hash h), or ok false.
func (c *wordCache) get(word string, h uint64) (ids []int32, ok bool) {
	s := &c.slots[h&(cacheSlots-1)]
	if s.hash != h || int(s.keyLen) != len(word) || string(c.keys[s.keyOff:s.keyOff+uint32(s.keyLen)]) != word {
		return nil, false
	}
	return c.ids[s.idOff : s.idOff+uint32(s.idLen)], true
}

// put caches the ids of word (with its hash h).
func (c *wordCache) put(word string, h uint64, ids []int32) {
	if len(c.keys)+len(word) > cacheKeyMax || len(c.ids)+len(ids) > cacheIDMax {
		clear(c.slots)
		c.keys, c.ids = c.keys[:0], c.ids[:0]
	}
	c.slots[h&(cacheSlots-1)] = cacheSlot{
		hash:   h,
		keyOff: uint32(len(c.keys)),
		idOff:  uint32(len(c.ids)),
		keyLen: uint16(len(word)),
		idLen:  uint16(len(ids)),
	}
	c.keys = append(c.keys, word...)
	c.ids = append(c.ids, ids...)
}

// reset empties the cache.
func (c *wordCache) reset() {
	clear(c.slots)
	c.keys, c.ids = c.keys[:0], c.ids[:0]
}
