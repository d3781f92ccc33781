package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// fixtureDir is where the real MiniMind tokenizers lie (copies in the repository).
var fixtureDir = filepath.Join("..", "testdata", "minimind")

// fixtures names the two generations as the golden files do.
var fixtures = []struct{ key, dir string }{{"m2", "minimind2"}, {"m3", "minimind3"}}

// loadFixture loads one real MiniMind tokenizer from testdata/minimind.
func loadFixture(t testing.TB, dir string) *Tokenizer {
	t.Helper()
	p := filepath.Join(fixtureDir, dir)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s missing (testdata/minimind in the repository): %v", p, err)
	}
	tok, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// readGzipLines calls fn for each line of a gzip-compressed testdata file.
func readGzipLines(t testing.TB, name string, fn func(line []byte)) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			fn(sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestEncodeGolden compares Encode with Hugging Face's ids for every golden
// text of both fixtures, and checks that decoding gives the text back.
func TestEncodeGolden(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir, func(t *testing.T) {
			tok := loadFixture(t, fx.dir)
			n, bad := 0, 0
			var texts []string
			var wants [][]int32
			readGzipLines(t, "encode.jsonl.gz", func(line []byte) {
				var row map[string]json.RawMessage
				if err := json.Unmarshal(line, &row); err != nil {
					t.Fatal(err)
				}
				var text string
				var want []int32
				if err := json.Unmarshal(row["t"], &text); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(row[fx.key], &want); err != nil {
					t.Fatal(err)
				}
				n++
				texts = append(texts, text)
				wants = append(wants, want)
				got := tok.Encode(text)
				if !slices.Equal(got, want) {
					bad++
					if bad <= 5 {
						t.Errorf("Encode(%q)\n got %v\nwant %v", text, got, want)
					}
				}
				if utf8.ValidString(text) {
					if back := tok.Decode(got); back != text {
						t.Errorf("Decode(Encode(%q)) = %q", text, back)
					}
				}
			})
			if bad > 0 {
				t.Errorf("%d of %d texts differ", bad, n)
			}
			if n < 10000 {
				t.Errorf("only %d golden texts", n)
			}
			// The batch path must agree with the single path.
			for i, got := range tok.EncodeBatch(texts) {
				if !slices.Equal(got, wants[i]) {
					t.Fatalf("EncodeBatch text %d (%q) differs", i, texts[i])
				}
			}
		})
	}
}

// TestDecodeGolden compares Decode and DecodeSkipSpecial with Hugging
// Face's decode for random id sequences (partial UTF-8, added tokens, ids
// outside the vocabulary), and the stream decoder with Decode.
func TestDecodeGolden(t *testing.T) {
	toks := map[string]*Tokenizer{}
	for _, fx := range fixtures {
		toks[fx.key] = loadFixture(t, fx.dir)
	}
	n := 0
	readGzipLines(t, "decode.jsonl.gz", func(line []byte) {
		var row struct {
			F    string  `json:"f"`
			IDs  []int64 `json:"ids"`
			Text string  `json:"text"`
			Skip string  `json:"skip"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatal(err)
		}
		ids := make([]int32, len(row.IDs))
		for i, id := range row.IDs {
			ids[i] = int32(id) // ids past 2^31 wrap to negative: still no token
		}
		tok := toks[row.F]
		n++
		if got := tok.Decode(ids); got != row.Text {
			t.Errorf("%s Decode(%v) = %q, want %q", row.F, row.IDs, got, row.Text)
		}
		if got := tok.DecodeSkipSpecial(ids); got != row.Skip {
			t.Errorf("%s DecodeSkipSpecial(%v) = %q, want %q", row.F, row.IDs, got, row.Skip)
		}
		sd := tok.NewStreamDecoder()
		var s string
		for _, id := range ids {
			s += sd.Push(id)
		}
		s += sd.Flush()
		if s != row.Text {
			t.Errorf("%s stream decode of %v = %q, want %q", row.F, row.IDs, s, row.Text)
		}
	})
	if n < 1000 {
		t.Errorf("only %d golden id sequences", n)
	}
}

// TestRuneClassesMatchHF checks the pre-tokenizer's class of every code
// point against the one Hugging Face's regex gives (testdata/hf_classes.txt.gz).
func TestRuneClassesMatchHF(t *testing.T) {
	var classes []byte
	readGzipLines(t, "hf_classes.txt.gz", func(line []byte) { classes = append(classes, line...) })
	if len(classes) != 0x110000 {
		t.Fatalf("hf_classes.txt.gz has %d entries, want %d", len(classes), 0x110000)
	}
	names := [...]byte{classOther: 'O', classLetter: 'L', classNumber: 'N', classSpace: 'S'}
	bad := 0
	for cp := 0; cp < 0x110000; cp++ {
		if classes[cp] == 'X' {
			continue
		}
		s := string(rune(cp))
		c, size := runeClass(s, 0)
		if names[c] != classes[cp] || size != len(s) {
			bad++
			if bad < 10 {
				t.Errorf("U+%04X: class %c, HF says %c", cp, names[c], classes[cp])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d code points differ", bad)
	}
}
