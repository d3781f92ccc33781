package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// AddedToken is one entry of tokenizer.json's "added_tokens": a token that is
// cut out of the text as a whole before the pre-tokenizer runs.
type AddedToken struct {
	ID         int32  `json:"id"`          // its id
	Content    string `json:"content"`     // the text it matches
	SingleWord bool   `json:"single_word"` // only match when not inside a word
	LStrip     bool   `json:"lstrip"`      // also take the whitespace before it
	RStrip     bool   `json:"rstrip"`      // also take the whitespace after it
	Normalized bool   `json:"normalized"`  // match on normalized text (there is no normalizer here, so after the others)
	Special    bool   `json:"special"`     // skipped by DecodeSkipSpecial
}

// matcher finds added tokens in text with leftmost-longest semantics (the
// match that starts first wins, then the longest), as Hugging Face's
// aho-corasick matcher does.
type matcher struct {
	toks    []*AddedToken
	byFirst [256][]int // first byte → indices into toks, longest first
	first   [256]bool  // whether any token starts with this byte
	single  int        // the one first byte when all tokens share it, else -1
}

// newMatcher builds a matcher for toks (empty contents never match).
func newMatcher(toks []*AddedToken) *matcher {
	m := &matcher{toks: toks, single: -1}
	distinct := 0
	for i, t := range toks {
		if t.Content == "" {
			continue
		}
		b := t.Content[0]
		if !m.first[b] {
			m.first[b] = true
			distinct++
			m.single = int(b)
		}
		// insert keeping longest first; equal lengths keep file order
		l := m.byFirst[b]
		k := len(l)
		for k > 0 && len(toks[l[k-1]].Content) < len(t.Content) {
			k--
		}
		l = append(l, 0)
		copy(l[k+1:], l[k:])
		l[k] = i
		m.byFirst[b] = l
	}
	if distinct != 1 {
		m.single = -1
	}
	if distinct == 0 {
		return nil
	}
	return m
}

// find returns the first match in s at or after from: its bounds and token,
// or start < 0 when there is none.
func (m *matcher) find(s string, from int) (start, end int, tok *AddedToken) {
	for i := from; i < len(s); i++ {
		if m.single >= 0 {
			k := strings.IndexByte(s[i:], byte(m.single))
			if k < 0 {
				return -1, -1, nil
			}
			i += k
		} else if !m.first[s[i]] {
			continue
		}
		for _, ti := range m.byFirst[s[i]] {
			t := m.toks[ti]
			if strings.HasPrefix(s[i:], t.Content) {
				return i, i + len(t.Content), t
			}
		}
	}
	return -1, -1, nil
}

// segment is a piece of the input: either plain text or one added token.
type segment struct {
	start, end int
	tok        *AddedToken // nil for plain text
}

// split appends to segs the pieces of s[lo:hi] cut by the tokens of m, with
// Hugging Face's single_word, lstrip and rstrip rules. Plain pieces are
// passed through next (which may split them further) before being appended.
func (m *matcher) split(segs []segment, s string, lo, hi int, next func([]segment, int, int) []segment) []segment {
	if m == nil {
		return next(segs, lo, hi)
	}
	sub := s[:hi]
	offset := lo // end of the previous match
	for from := lo; from < hi; {
		start, stop, t := m.find(sub, from)
		if start < 0 {
			break
		}
		from = stop
		if t.SingleWord {
			if endsWithWord(sub[lo:start]) || startsWithWord(sub[stop:]) {
				continue
			}
		}
		if t.LStrip {
			ns := lo + spaceLeftmostAtEnd(sub[lo:start])
			start = max(ns, offset)
		}
		if t.RStrip {
			stop += spaceRightmostAtStart(sub[stop:])
		}
		if start < offset {
			start = offset
		}
		if offset < start {
			segs = next(segs, offset, start)
		}
		segs = append(segs, segment{start, stop, t})
		offset = stop
	}
	if offset < hi {
		segs = next(segs, offset, hi)
	}
	return segs
}

// isWordChar is Rust's char::is_alphanumeric (Alphabetic or Numeric) or '_'.
func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Other_Alphabetic, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordChar(r)
}

// spaceLeftmostAtEnd returns where the trailing whitespace of s begins.
func spaceLeftmostAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= size
	}
	return i
}

// spaceRightmostAtStart returns the length of the leading whitespace of s.
func spaceRightmostAtStart(s string) int {
	for i, r := range s {
		if !unicode.IsSpace(r) {
			return i
		}
	}
	return len(s)
}
