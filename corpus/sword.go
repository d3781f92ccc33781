package corpus

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A SWORD "zText" module stores a Bible testament in three files:
//
//	X.bzs  block index: [nblocks] records of {offset, compressed size, uncompressed size}, uint32 LE each
//	X.bzz  the blocks, each zlib-compressed
//	X.bzv  verse index: [nslots] records of {block uint32, offset uint32, size uint16}, LE
//
// Verse slots follow the module's versification: per book an intro slot,
// then per chapter a heading slot (carrying <chapter osisID="Book.N"/>)
// followed by one slot per verse.

// swordEntry is one verse slot's OSIS text.
type swordEntry []byte

// readZText reads every verse slot of one testament (prefix "ot" or "nt").
func readZText(dir, prefix string) ([]swordEntry, error) {
	read := func(ext string) ([]byte, string, error) {
		p := filepath.Join(dir, prefix+ext)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, p, fmt.Errorf("corpus: %w", err)
		}
		return b, p, nil
	}
	bzs, bzsPath, err := read(".bzs")
	if err != nil {
		return nil, err
	}
	bzz, bzzPath, err := read(".bzz")
	if err != nil {
		return nil, err
	}
	bzv, bzvPath, err := read(".bzv")
	if err != nil {
		return nil, err
	}
	if len(bzs)%12 != 0 {
		return nil, fmt.Errorf("corpus: %s: size %d is not a multiple of 12", bzsPath, len(bzs))
	}
	if len(bzv)%10 != 0 {
		return nil, fmt.Errorf("corpus: %s: size %d is not a multiple of 10", bzvPath, len(bzv))
	}
	// blocks: [nblocks][]byte, each the uncompressed block
	blocks := make([][]byte, len(bzs)/12)
	for i := range blocks {
		rec := bzs[i*12:]
		off := binary.LittleEndian.Uint32(rec[0:])
		csize := binary.LittleEndian.Uint32(rec[4:])
		usize := binary.LittleEndian.Uint32(rec[8:])
		if uint64(off)+uint64(csize) > uint64(len(bzz)) {
			return nil, fmt.Errorf("corpus: %s: block %d [%d,+%d) beyond %s (%d bytes)", bzsPath, i, off, csize, bzzPath, len(bzz))
		}
		zr, err := zlib.NewReader(bytes.NewReader(bzz[off : off+csize]))
		if err != nil {
			return nil, fmt.Errorf("corpus: %s: block %d: %w", bzzPath, i, err)
		}
		b, err := io.ReadAll(io.LimitReader(zr, int64(usize)+1))
		zr.Close()
		if err != nil {
			return nil, fmt.Errorf("corpus: %s: block %d: %w", bzzPath, i, err)
		}
		blocks[i] = b
	}
	entries := make([]swordEntry, len(bzv)/10)
	for i := range entries {
		rec := bzv[i*10:]
		blk := binary.LittleEndian.Uint32(rec[0:])
		off := binary.LittleEndian.Uint32(rec[4:])
		size := binary.LittleEndian.Uint16(rec[8:])
		if size == 0 {
			continue
		}
		if int(blk) >= len(blocks) || uint64(off)+uint64(size) > uint64(len(blocks[blk])) {
			return nil, fmt.Errorf("corpus: %s: verse slot %d points outside block %d", bzvPath, i, blk)
		}
		entries[i] = swordEntry(blocks[blk][off : off+uint32(size)])
	}
	return entries, nil
}

// bibleVerse is one verse of plain text.
type bibleVerse struct {
	Book    string // OSIS book id, e.g. "John"
	Chapter int
	Verse   int
	Text    string
}

var (
	reChapter  = regexp.MustCompile(`<chapter [^>]*osisID="([0-9A-Za-z]+)\.([0-9]+)"`)
	reDropElem = regexp.MustCompile(`(?s)<(note|title|rdg)\b[^>]*>.*?</(note|title|rdg)>`)
	reTag      = regexp.MustCompile(`<[^>]*>`)
	reSpaces   = regexp.MustCompile(`\s+`)
)

// osisPlain removes OSIS markup: notes, titles and variant readings are
// dropped with their content, other tags are removed keeping their text,
// whitespace is collapsed.
func osisPlain(b []byte) string {
	s := reDropElem.ReplaceAllString(string(b), " ")
	s = reTag.ReplaceAllString(s, " ")
	s = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'").Replace(s)
	s = reSpaces.ReplaceAllString(s, " ")
	s = strings.TrimSpace(s)
	// Tags removed between a word and its punctuation leave a space: "God ,".
	s = strings.NewReplacer(" ,", ",", " .", ".", " ;", ";", " :", ":", " ?", "?", " !", "!", " ’", "’", " ”", "”", "“ ", "“", "‘ ", "‘").Replace(s)
	return s
}

// bibleVerses decodes the slots of one testament into verses. Slots before
// a book's first chapter (module and book introductions) are skipped; the
// verse number is the slot's distance from its chapter's heading slot.
func bibleVerses(entries []swordEntry) []bibleVerse {
	var out []bibleVerse
	book, chapter, heading := "", 0, -1
	for i, e := range entries {
		if m := reChapter.FindSubmatch(e); m != nil {
			book = string(m[1])
			chapter = atoiOr(string(m[2]), 0)
			heading = i
			// A heading slot may also carry text before the chapter tag
			// (paragraph markers only in this module); it is not a verse.
			continue
		}
		if heading < 0 || len(e) == 0 {
			continue
		}
		// Text after a chapter's end marker in the same slot (a glossary or
		// the next book's introduction) is not part of the verse.
		if j := bytes.Index(e, []byte("<chapter eID=")); j >= 0 {
			e = e[:j]
		}
		txt := osisPlain(e)
		if txt == "" {
			continue
		}
		out = append(out, bibleVerse{Book: book, Chapter: chapter, Verse: i - heading, Text: txt})
	}
	return out
}

// atoiOr parses a small decimal number, returning def on any error.
func atoiOr(s string, def int) int {
	n := 0
	if s == "" {
		return def
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return def
		}
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return def
		}
	}
	return n
}

// bibleBooks maps the OSIS ids of the 66 books of the Protestant canon to
// their English names, in canonical order. Other books of the module (the
// deuterocanon) are not used.
var bibleBooks = [...][2]string{
	{"Gen", "Genesis"}, {"Exod", "Exodus"}, {"Lev", "Leviticus"}, {"Num", "Numbers"},
	{"Deut", "Deuteronomy"}, {"Josh", "Joshua"}, {"Judg", "Judges"}, {"Ruth", "Ruth"},
	{"1Sam", "1 Samuel"}, {"2Sam", "2 Samuel"}, {"1Kgs", "1 Kings"}, {"2Kgs", "2 Kings"},
	{"1Chr", "1 Chronicles"}, {"2Chr", "2 Chronicles"}, {"Ezra", "Ezra"}, {"Neh", "Nehemiah"},
	{"Esth", "Esther"}, {"Job", "Job"}, {"Ps", "Psalm"}, {"Prov", "Proverbs"},
	{"Eccl", "Ecclesiastes"}, {"Song", "Song of Solomon"}, {"Isa", "Isaiah"}, {"Jer", "Jeremiah"},
	{"Lam", "Lamentations"}, {"Ezek", "Ezekiel"}, {"Dan", "Daniel"}, {"Hos", "Hosea"},
	{"Joel", "Joel"}, {"Amos", "Amos"}, {"Obad", "Obadiah"}, {"Jonah", "Jonah"},
	{"Mic", "Micah"}, {"Nah", "Nahum"}, {"Hab", "Habakkuk"}, {"Zeph", "Zephaniah"},
	{"Hag", "Haggai"}, {"Zech", "Zechariah"}, {"Mal", "Malachi"},
	{"Matt", "Matthew"}, {"Mark", "Mark"}, {"Luke", "Luke"}, {"John", "John"},
	{"Acts", "Acts"}, {"Rom", "Romans"}, {"1Cor", "1 Corinthians"}, {"2Cor", "2 Corinthians"},
	{"Gal", "Galatians"}, {"Eph", "Ephesians"}, {"Phil", "Philippians"}, {"Col", "Colossians"},
	{"1Thess", "1 Thessalonians"}, {"2Thess", "2 Thessalonians"}, {"1Tim", "1 Timothy"},
	{"2Tim", "2 Timothy"}, {"Titus", "Titus"}, {"Phlm", "Philemon"}, {"Heb", "Hebrews"},
	{"Jas", "James"}, {"1Pet", "1 Peter"}, {"2Pet", "2 Peter"}, {"1John", "1 John"},
	{"2John", "2 John"}, {"3John", "3 John"}, {"Jude", "Jude"}, {"Rev", "Revelation"},
}

// bibleBookName returns the English name of an OSIS book id of the
// Protestant canon, or "" for any other book.
func bibleBookName(osis string) string {
	for _, b := range bibleBooks {
		if b[0] == osis {
			return b[1]
		}
	}
	return ""
}

// readBible reads both testaments of the module in dir and returns the
// verses of the 66 canonical books, in module order.
func readBible(dir string) ([]bibleVerse, error) {
	var out []bibleVerse
	for _, t := range []string{"ot", "nt"} {
		entries, err := readZText(dir, t)
		if err != nil {
			return nil, err
		}
		for _, v := range bibleVerses(entries) {
			if bibleBookName(v.Book) != "" {
				out = append(out, v)
			}
		}
	}
	return out, nil
}
