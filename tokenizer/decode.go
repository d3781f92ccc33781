package tokenizer

import (
	"unicode/utf8"
)

// AppendDecodeBytes appends the raw bytes of ids to dst: each model token's
// ByteLevel symbols become the bytes they stand for and each added token its
// content. Ids that are no token are skipped, as are special tokens when
// skipSpecial is set. The result need not be valid UTF-8.
func (t *Tokenizer) AppendDecodeBytes(dst []byte, ids []int32, skipSpecial bool) []byte {
	for _, id := range ids {
		if id < 0 || int(id) >= len(t.idKind) {
			continue
		}
		switch t.idKind[id] {
		case kindNone:
			continue
		case kindSpecial:
			if skipSpecial {
				continue
			}
		}
		dst = symbolBytes(dst, t.idTok[id])
	}
	return dst
}

// DecodeBytes returns the raw bytes of ids (see AppendDecodeBytes).
func (t *Tokenizer) DecodeBytes(ids []int32) []byte {
	return t.AppendDecodeBytes(nil, ids, false)
}

// Decode returns the text of ids exactly as Hugging Face's decode with
// skip_special_tokens=false does: bytes that do not form valid UTF-8 become
// U+FFFD, one for each maximal invalid subpart (as Rust's
// String::from_utf8_lossy). Ids that are no token are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	return lossyString(t.AppendDecodeBytes(nil, ids, false))
}

// DecodeSkipSpecial is Decode with skip_special_tokens=true: special added
// tokens are left out.
func (t *Tokenizer) DecodeSkipSpecial(ids []int32) string {
	return lossyString(t.AppendDecodeBytes(nil, ids, true))
}

// lossyString converts b to a valid UTF-8 string, replacing each maximal
// subpart of an ill-formed sequence with U+FFFD (the Unicode "substitution of
// maximal subparts" practice that Rust's from_utf8_lossy follows).
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			out = append(out, b[i])
			i++
			continue
		}
		n, st := utf8Prefix(b[i:])
		if st == seqValid {
			out = append(out, b[i:i+n]...)
		} else {
			out = append(out, "\uFFFD"...)
		}
		i += n
	}
	return string(out)
}

// States of the sequence at the start of a byte slice.
const (
	seqValid     = iota // a whole valid character
	seqInvalid          // a maximal subpart of an ill-formed sequence
	seqTruncated        // a valid start of a character cut off by the end
)

// utf8Prefix looks at the sequence that starts with the non-ASCII byte b[0].
// It returns the length of the valid character there, or the length of the
// maximal subpart of an ill-formed sequence (at least 1) to replace, with
// the state of that sequence.
func utf8Prefix(b []byte) (n int, state int) {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC || c == 0xEE || c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1, seqInvalid // a continuation byte or C0, C1, F5..FF
	}
	for k := 1; k <= need; k++ {
		if k >= len(b) {
			return k, seqTruncated
		}
		x := b[k]
		if k == 1 && (x < lo || x > hi) || k > 1 && (x < 0x80 || x > 0xBF) {
			return k, seqInvalid
		}
	}
	return need + 1, seqValid
}

// StreamDecoder turns ids into text one at a time, as a model generates
// them. It holds back bytes that do not yet form a whole UTF-8 character
// and releases them when the character completes; bytes that can never
// complete one come out as U+FFFD, as Decode would show them.
type StreamDecoder struct {
	t           *Tokenizer
	pending     []byte // bytes of an incomplete character
	skipSpecial bool
}

// NewStreamDecoder returns a StreamDecoder over t that shows special tokens.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// NewStreamDecoderSkipSpecial returns a StreamDecoder that leaves special
// tokens out.
func (t *Tokenizer) NewStreamDecoderSkipSpecial() *StreamDecoder {
	return &StreamDecoder{t: t, skipSpecial: true}
}

// Push adds one id and returns the text that is complete so far and was not
// returned before (often "", while a character is incomplete).
func (d *StreamDecoder) Push(id int32) string {
	d.pending = d.t.AppendDecodeBytes(d.pending, []int32{id}, d.skipSpecial)
	return d.release(false)
}

// Flush returns whatever is held back, replacing an incomplete character
// with U+FFFD, and resets the decoder.
func (d *StreamDecoder) Flush() string { return d.release(true) }

// Reset drops any held-back bytes.
func (d *StreamDecoder) Reset() { d.pending = d.pending[:0] }

// release returns the prefix of pending that can be shown now. At the end
// of pending, a sequence that is still a valid start of a character is kept
// unless final is set.
func (d *StreamDecoder) release(final bool) string {
	b := d.pending
	i := 0
	for i < len(b) {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		n, st := utf8Prefix(b[i:])
		if st == seqTruncated && !final {
			break // may still complete
		}
		i += n
	}
	s := lossyString(b[:i])
	d.pending = append(d.pending[:0], b[i:]...)
	return s
}
