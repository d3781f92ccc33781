package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// benchTexts returns the texts of the jsonl corpus named by $MINIMIND_CORPUS
// ({"text": ...} lines; tools/oracle/make-corpus.mjs builds one), or the
// golden texts when it is unset, with their total size.
func benchTexts(b *testing.B) ([]string, int64) {
	b.Helper()
	var texts []string
	if p := os.Getenv("MINIMIND_CORPUS"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			var row struct {
				Text string `json:"text"`
			}
			if len(sc.Bytes()) == 0 {
				continue
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				b.Fatal(err)
			}
			texts = append(texts, row.Text)
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
	} else {
		readGzipLines(b, "encode.jsonl.gz", func(line []byte) {
			var row struct {
				T string `json:"t"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				b.Fatal(err)
			}
			texts = append(texts, row.T)
		})
	}
	var n int64
	for _, t := range texts {
		n += int64(len(t))
	}
	return texts, n
}

// BenchmarkEncode encodes the corpus one text at a time on one goroutine.
func BenchmarkEncode(b *testing.B) {
	tok := loadFixture(b, "minimind2")
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ResetTimer()
	var buf []int32
	for i := 0; i < b.N; i++ {
		for _, t := range texts {
			buf = tok.AppendEncode(buf[:0], t)
		}
	}
}

// BenchmarkEncodeBatch encodes the corpus with EncodeBatch (all cores).
func BenchmarkEncodeBatch(b *testing.B) {
	tok := loadFixture(b, "minimind2")
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tok.EncodeBatch(texts)
	}
}

// BenchmarkEncodeNoCache encodes the corpus with the word cache emptied
// before every text, to show the speed of the BPE merge loop itself.
func BenchmarkEncodeNoCache(b *testing.B) {
	tok := loadFixture(b, "minimind2")
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ResetTimer()
	var buf []int32
	e := tok.getEncoder()
	for i := 0; i < b.N; i++ {
		for _, t := range texts {
			e.cache.reset()
			buf = tok.encodeWith(e, buf[:0], t)
		}
	}
}

// BenchmarkDecode decodes the corpus' ids.
func BenchmarkDecode(b *testing.B) {
	tok := loadFixture(b, "minimind2")
	texts, n := benchTexts(b)
	ids := tok.EncodeBatch(texts)
	b.SetBytes(n)
	b.ResetTimer()
	var buf []byte
	for i := 0; i < b.N; i++ {
		for _, x := range ids {
			buf = tok.AppendDecodeBytes(buf[:0], x, false)
		}
	}
}
