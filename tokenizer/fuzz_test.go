package tokenizer

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// naiveMerge is the textbook BPE loop: repeatedly merge the adjacent pair
// with the lowest rank, leftmost first. The fast paths must agree with it.
func naiveMerge(m *bpeModel, ids []int32) []int32 {
	ids = slices.Clone(ids)
	for {
		best, at := noMerge, -1
		var id int32
		for k := 0; k+1 < len(ids); k++ {
			if r, nid := m.lookup(ids[k], ids[k+1]); r < best {
				best, at, id = r, k, nid
			}
		}
		if at < 0 {
			return ids
		}
		ids = slices.Replace(ids, at, at+2, id)
	}
}

// FuzzEncode checks, for any input: no panic, the words tile the text, the
// short and long merge loops agree with the naive one, decoding gives the
// bytes back, and the stream decoder agrees with Decode.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello world", "你好，世界！", "<|im_start|>user\nhi<|im_end|>", "a\xffb\xe4\xb8", "  \n\n\t x", "'s'S'll", "😀👨‍👩‍👧", "<think>\n\n</think>"} {
		f.Add(s)
	}
	tok := loadFixture(f, "minimind3")
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); {
			j := nextWord(s, i)
			if j <= i || j > len(s) {
				t.Fatalf("nextWord(%q, %d) = %d", s, i, j)
			}
			w := s[i:j]
			i = j
			if len(w) > 512 {
				continue // the naive loop is cubic; long words are checked in TestLongWords
			}
			var sc wordScratch
			sc.ids = tok.model.initialSymbols(nil, w)
			want := naiveMerge(&tok.model, sc.ids)
			short := slices.Clone(tok.model.mergeShort(&wordScratch{ids: slices.Clone(sc.ids)}))
			long := tok.model.mergeLong(nil, &wordScratch{ids: slices.Clone(sc.ids)})
			if !slices.Equal(short, want) || !slices.Equal(long, want) {
				t.Fatalf("word %q: short %v long %v naive %v", w, short, long, want)
			}
		}
		ids := tok.Encode(s)
		if got := tok.DecodeBytes(ids); !bytes.Equal(got, []byte(s)) {
			t.Fatalf("DecodeBytes(Encode(%q)) = %q", s, got)
		}
		text := tok.Decode(ids)
		if utf8.ValidString(s) && text != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, text)
		}
		if !utf8.ValidString(text) {
			t.Fatalf("Decode gave invalid UTF-8 %q", text)
		}
		d := tok.NewStreamDecoder()
		var streamed strings.Builder
		for _, id := range ids {
			streamed.WriteString(d.Push(id))
		}
		if streamed.WriteString(d.Flush()); streamed.String() != text {
			t.Fatalf("stream %q, Decode %q", streamed.String(), text)
		}
	})
}

// FuzzDecode feeds arbitrary ids (including negative and huge ones) to
// Decode and the stream decoder.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0xe4, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 3, 1, 0, 0, 200, 0, 0, 0})
	tok := loadFixture(f, "minimind2")
	f.Fuzz(func(t *testing.T, b []byte) {
		ids := make([]int32, len(b)/4)
		for i := range ids {
			ids[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		text := tok.Decode(ids)
		if !utf8.ValidString(text) {
			t.Fatalf("invalid UTF-8 from %v", ids)
		}
		_ = tok.DecodeSkipSpecial(ids)
		d := tok.NewStreamDecoder()
		var s strings.Builder
		for _, id := range ids {
			s.WriteString(d.Push(id))
		}
		if s.WriteString(d.Flush()); s.String() != text {
			t.Fatalf("stream %q, Decode %q", s.String(), text)
		}
	})
}

// smallTokenizerJSON is a small valid tokenizer.json for seeding the reader
// fuzzer.
const smallTokenizerJSON = `{"version": "1.0", "truncation": null, "padding": null,
"added_tokens": [{"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": true, "normalized": false, "special": true}],
"normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
"post_processor": null, "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
"model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
"fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
"vocab": {"<s>": 0, "a": 1, "b": 2, "ab": 3, "Ġ": 4, "Ġab": 5},
"merges": [["a", "b"], "Ġ ab"]}}`

// FuzzFromJSON checks that any tokenizer.json (and tokenizer_config.json)
// is either rejected with an error or gives a tokenizer that works.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(smallTokenizerJSON), []byte(`{"bos_token": "<s>", "chat_template": "{{ messages }}"}`))
	f.Add([]byte(`{"model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"}}`), []byte(`{}`))
	if data, err := os.ReadFile(filepath.Join(fixtureDir, "minimind2", ConfigFile)); err == nil {
		f.Add([]byte(smallTokenizerJSON), data)
	}
	f.Fuzz(func(t *testing.T, tj, cj []byte) {
		tok, err := FromJSON(tj, cj)
		if err != nil {
			return
		}
		for _, s := range []string{"ab ab<s>x", "\xff", ""} {
			ids := tok.Encode(s)
			_ = tok.Decode(ids)
		}
		_ = tok.Decode([]int32{-1, 0, 1, 2, 1 << 30})
		if _, err := tok.MarshalTokenizerJSON(); err != nil {
			t.Fatalf("a loaded tokenizer does not marshal: %v", err)
		}
		if tok.Config() != nil {
			if _, err := tok.Config().Marshal(); err != nil {
				t.Fatalf("a loaded config does not marshal: %v", err)
			}
			_, _ = tok.ApplyChatTemplate([]Message{{Role: "user", Content: "hi"}}, ChatOptions{})
		}
	})
}

// TestSmallTokenizerJSON checks the fuzzer's seed: legacy and pair merges,
// an rstrip special token.
func TestSmallTokenizerJSON(t *testing.T) {
	tok, err := FromJSON([]byte(smallTokenizerJSON), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("ab ab<s>  ab"); !slices.Equal(got, []int32{3, 5, 0, 3}) {
		t.Errorf("Encode = %v", got)
	}
}

// TestLongWords checks the heap merge loop on long words against the naive
// loop (and the speed of long inputs: a 1 MB word must not take long).
func TestLongWords(t *testing.T) {
	tok := loadFixture(t, "minimind3")
	words := []string{
		strings.Repeat("a", 700),
		strings.Repeat("的", 400),
		strings.Repeat("ab", 350) + strings.Repeat("c", 10),
		strings.Repeat("12", 300),
		strings.Repeat(" ", 600),
	}
	for _, w := range words {
		ids := tok.model.initialSymbols(nil, w)
		want := naiveMerge(&tok.model, ids)
		got := tok.model.mergeLong(nil, &wordScratch{ids: slices.Clone(ids)})
		if !slices.Equal(got, want) {
			t.Errorf("word of %d bytes %q…: heap %v, naive %v", len(w), w[:9], got, want)
		}
	}
	big := strings.Repeat("x", 1<<20)
	start := time.Now()
	ids := tok.Encode(big)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a 1 MB word took %v", d)
	}
	if string(tok.DecodeBytes(ids)) != big {
		t.Error("the 1 MB word does not decode back")
	}
}
