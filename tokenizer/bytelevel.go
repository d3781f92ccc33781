package tokenizer

// The GPT-2 ByteLevel alphabet shows every byte value as one printable rune,
// so that any byte string can be written as text. Bytes that are printable
// Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68
// bytes get the runes U+0100, U+0101, … in byte order. All symbols are below
// U+0144 (256+68).
const maxSymbolRune = 256 + 68

// byteLevel holds the alphabet tables. They are filled once by newByteLevel
// and only read afterwards.
type byteLevel struct {
	byteToRune [256]rune            // byte → its symbol rune
	runeToByte [maxSymbolRune]int16 // symbol rune → byte, -1 when the rune is no symbol
	byteToStr  [256]string          // byte → its symbol as a UTF-8 string
}

// newByteLevel builds the ByteLevel alphabet tables.
func newByteLevel() *byteLevel {
	bl := &byteLevel{}
	for i := range bl.runeToByte {
		bl.runeToByte[i] = -1
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = rune(256 + n)
			n++
		}
		bl.byteToRune[b] = r
		bl.runeToByte[r] = int16(b)
		bl.byteToStr[b] = string(r)
	}
	return bl
}

// std is the ByteLevel alphabet; read-only after package initialisation.
var std = newByteLevel()

// ByteLevelAlphabet returns the 256 ByteLevel symbols as strings, in the order
// of the bytes they stand for.
func ByteLevelAlphabet() []string {
	out := make([]string, 256)
	copy(out, std.byteToStr[:])
	return out
}

// appendSymbols appends the ByteLevel spelling of the raw bytes b to dst.
func appendSymbols(dst []byte, b string) []byte {
	for i := 0; i < len(b); i++ {
		dst = append(dst, std.byteToStr[b[i]]...)
	}
	return dst
}

// symbolBytes converts a token written in ByteLevel symbols back to bytes and
// appends them to dst. As in Hugging Face's ByteLevel decoder, a token with
// any rune outside the alphabet is copied through as its own UTF-8 bytes.
func symbolBytes(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		if r < 0 || r >= maxSymbolRune || std.runeToByte[r] < 0 {
			return append(dst[:start], tok...)
		}
		dst = append(dst, byte(std.runeToByte[r]))
	}
	return dst
}
