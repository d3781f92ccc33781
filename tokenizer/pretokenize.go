package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of the GPT-2 pattern.
const (
	classOther  = iota // [^\s\p{L}\p{N}]
	classLetter        // \p{L}
	classNumber        // \p{N}
	classSpace         // \s
)

// asciiClass is the class of each ASCII byte.
var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = classLetter
		case c >= '0' && c <= '9':
			t[c] = classNumber
		case c == ' ' || c >= '\t' && c <= '\r':
			t[c] = classSpace
		default:
			t[c] = classOther
		}
	}
	return t
}()

// bmpClass is the class of every rune of the Basic Multilingual Plane, two
// bits each (4 runes a byte): 16 KiB, computed once at package start.
var bmpClass = func() (t [0x10000 / 4]uint8) {
	for r := 0; r < 0x10000; r++ {
		t[r>>2] |= slowClass(rune(r)) << ((r & 3) * 2)
	}
	return t
}()

// slowClass classifies a rune with the unicode tables.
func slowClass(r rune) uint8 {
	switch {
	case r < 128:
		return asciiClass[r]
	case unicode.IsLetter(r) || unicode.Is(unicode16Letters, r):
		return classLetter
	case unicode.IsNumber(r) || unicode.Is(unicode16Numbers, r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// runeClass classifies the rune that starts s[i:] and returns its byte
// length. A byte that does not start valid UTF-8 counts as one "other"
// character (as U+FFFD would), so that any input can be encoded losslessly.
func runeClass(s string, i int) (class uint8, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r < 0x10000 {
		return (bmpClass[r>>2] >> ((r & 3) * 2)) & 3, size
	}
	return slowClass(r), size
}

// nextWord returns the end of the pre-tokenizer word that starts at s[i:]
// (i < len(s)). It implements the leftmost-first match of
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Every character is matched by one of the alternatives, so the words tile s.
func nextWord(s string, i int) int {
	n := len(s)
	c := s[i]
	if c == '\'' && i+1 < n {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < n && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < n && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	class, size := runeClass(s, i)
	start := i // where the run of one class begins
	if c == ' ' && i+1 < n {
		// " ?X+" where X is the class of the following character.
		if next, _ := runeClass(s, i+1); next != classSpace {
			class = next
			start = i + 1 // the space is taken with the run below
		}
	}
	if class != classSpace {
		j := start
		for j < n {
			cl, sz := runeClass(s, j)
			if cl != class {
				break
			}
			j += sz
		}
		return j
	}
	// A whitespace run: \s+(?!\S) takes all of it at the end of the text,
	// otherwise all but its last character; a single whitespace character
	// before a non-space falls to \s+.
	j := i + size
	last := i
	for j < n {
		cl, sz := runeClass(s, j)
		if cl != classSpace {
			break
		}
		last = j
		j += sz
	}
	if j == n || last == i {
		return j
	}
	return last
}
