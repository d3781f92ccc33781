package corpus

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// buildSeed is mixed into every hash the builder draws from, so that a new
// seed reshuffles every choice while the inputs stay the same.
const buildSeed = 42

// hash64 is FNV-1a 64 of the seed and the parts joined by "\x00": the one
// source of all the builder's "random" choices, so that each choice depends
// only on the item it is about (adding an item never reshuffles the others).
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "minimind-corpus/%d", buildSeed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return mix64(h.Sum64())
}

// mix64 is the SplitMix64 finalizer. FNV alone changes only the low bits
// when the last byte changes, which would cluster "key/0", "key/1", ...
// when ordering by hash.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// rng is a small deterministic generator (SplitMix64) whose sequence is
// fixed by this code, not by the Go release.
type rng struct{ state uint64 }

// newRNG returns a generator seeded from the given key parts.
func newRNG(parts ...string) *rng { return &rng{state: hash64(parts...)} }

// next returns the next 64 random bits.
func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// intn returns a number in [0, n); n must be > 0.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// chance returns true with probability p (0..1).
func (r *rng) chance(p float64) bool { return float64(r.next()>>11)/(1<<53) < p }

// pick returns one of the choices.
func pick[T any](r *rng, choices []T) T { return choices[r.intn(len(choices))] }

// split says which file an item goes to.
type split int

const (
	splitTrain split = iota // training files
	splitVal                // validation files (2% of items)
	splitEval               // training pretrain text, but no SFT: the evaluation set (2% of words)
)

// splitOf assigns an item of a kind ("word", "chapter", "poem", "char", ...)
// to a split by the hash of its key: 2% validation and, for kinds with an
// evaluation set, another 2% evaluation.
func splitOf(kind, key string, withEval bool) split {
	b := hash64("split", kind, key) % 1000
	switch {
	case b < 20:
		return splitVal
	case withEval && b < 40:
		return splitEval
	}
	return splitTrain
}

// Message is one turn of an SFT conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Conversation is one SFT record: {"conversations": [...]}.
type Conversation struct {
	Conversations []Message `json:"conversations"`
}

// PretrainRecord is one pretraining record: {"text": "..."}.
type PretrainRecord struct {
	Text string `json:"text"`
}

// marshalLine encodes v as one JSON line without HTML escaping.
func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// gzipBytes compresses data reproducibly: no name, no modification time,
// best compression.
func gzipBytes(data []byte) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// sha256Hex returns the lower-case hex SHA-256 of data.
func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// isCJK reports whether r is a Han ideograph or CJK punctuation/full-width
// form, the characters counted at 1.6 per token.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) ||
		(r >= 0x3000 && r <= 0x303F) || // CJK symbols and punctuation
		(r >= 0xFF00 && r <= 0xFFEF) // full-width forms
}

// textStats counts characters, CJK characters and the rough token estimate:
// CJK characters / 1.6 + other characters / 4.
func textStats(s string) (chars, cjk int) {
	for _, r := range s {
		chars++
		if isCJK(r) {
			cjk++
		}
	}
	return chars, cjk
}

// seqTokens is a conservative estimate of the tokens MiniMind's 6400-word
// tokenizer gives a text, used to keep documents and conversations within
// a 256-token sequence. Measured on this corpus, the tokenizer gives about
// 2.7 English characters a token (2.2 for text full of names) and up to 1.5
// tokens a character of classical Chinese verse; the estimate counts 3
// tokens for 2 Chinese characters, 1 for any other non-ASCII character
// (such as a pinyin vowel with a tone mark) and 1 for 2.2 ASCII characters.
func seqTokens(s string) int {
	ascii, cjk, other := 0, 0, 0
	for _, r := range s {
		switch {
		case r < 0x80:
			ascii++
		case isCJK(r):
			cjk++
		default:
			other++
		}
	}
	return (3*cjk+1)/2 + other + (ascii*10+21)/22
}

// approxTokens is the rough token estimate of a text with the given counts.
func approxTokens(chars, cjk int) int {
	return int(float64(cjk)/1.6 + float64(chars-cjk)/4 + 0.5)
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// decapitalize lower-cases the first letter of s.
func decapitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// sentence capitalizes s and ends it with a full stop unless it already
// ends with punctuation.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = capitalize(s)
	switch s[len(s)-1] {
	case '.', '!', '?':
		return s
	}
	return s + "."
}

// joinList joins items as "a", "a and b", "a, b and c".
func joinList(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}

// article returns "a" or "an" for the word that follows.
func article(w string) string {
	if w == "" {
		return "a"
	}
	switch unicode.ToLower(rune(w[0])) {
	case 'a', 'e', 'i', 'o', 'u':
		return "an"
	}
	return "a"
}
