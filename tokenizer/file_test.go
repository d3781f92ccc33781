package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSaveRoundTrip checks that saving a loaded fixture writes both files
// back byte for byte, and that the saved folder loads again.
func TestSaveRoundTrip(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir, func(t *testing.T) {
			tok := loadFixture(t, fx.dir)
			dir := t.TempDir()
			if err := tok.Save(dir); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{TokenizerFile, ConfigFile} {
				want, err := os.ReadFile(filepath.Join(fixtureDir, fx.dir, name))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					t.Errorf("%s differs at byte %d: got %q, want %q", name, i, excerpt(got, i), excerpt(want, i))
				}
			}
			again, err := Load(filepath.Join(dir, TokenizerFile))
			if err != nil {
				t.Fatal(err)
			}
			if s := "你好 world <|im_end|>"; !slices.Equal(again.Encode(s), tok.Encode(s)) {
				t.Error("reloaded tokenizer encodes differently")
			}
			if again.Config() == nil || again.Config().ChatTemplate != tok.Config().ChatTemplate {
				t.Error("reloaded tokenizer lost its chat template")
			}
		})
	}
}

func excerpt(b []byte, i int) string {
	lo, hi := max(0, i-20), min(len(b), i+20)
	return string(b[lo:hi])
}

// TestConfigFields checks the fields read from tokenizer_config.json and that
// a changed field is written back.
func TestConfigFields(t *testing.T) {
	tests := []struct {
		dir                 string
		bos, eos, pad, unk  string
		bosID, eosID, padID int32
		templateHas         string
	}{
		{"minimind2", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|endoftext|>", 1, 2, 0, "You are a helpful assistant"},
		{"minimind3", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|endoftext|>", 1, 2, 0, "open_thinking"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			tok := loadFixture(t, tt.dir)
			c := tok.Config()
			if c.BOSToken != tt.bos || c.EOSToken != tt.eos || c.PadToken != tt.pad || c.UnkToken != tt.unk {
				t.Errorf("tokens = %q %q %q %q", c.BOSToken, c.EOSToken, c.PadToken, c.UnkToken)
			}
			for which, want := range map[string]int32{"bos": tt.bosID, "eos": tt.eosID, "pad": tt.padID, "unk": 0} {
				if id, ok := tok.SpecialID(which); !ok || id != want {
					t.Errorf("SpecialID(%s) = %d, %v; want %d", which, id, ok, want)
				}
			}
			if !strings.Contains(c.ChatTemplate, tt.templateHas) {
				t.Errorf("chat template lacks %q", tt.templateHas)
			}
			c2 := *c
			c2.EOSToken = "<|endoftext|>"
			data, err := c2.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseConfig(data, "changed")
			if err != nil {
				t.Fatal(err)
			}
			if back.EOSToken != "<|endoftext|>" || back.BOSToken != tt.bos || back.ChatTemplate != c.ChatTemplate {
				t.Errorf("changed config read back as %+v", back)
			}
		})
	}
}

// TestLoadFS loads a tokenizer from an in-memory file system, as a program
// embedding its default tokenizer does.
func TestLoadFS(t *testing.T) {
	dir := filepath.Join(fixtureDir, "minimind2")
	tj, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		t.Skipf("fixture not found: %v", err)
	}
	cj, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"assets/tok/" + TokenizerFile: {Data: tj},
		"assets/tok/" + ConfigFile:    {Data: cj},
		"bare/" + TokenizerFile:       {Data: tj},
	}
	tok, err := LoadFS(fsys, "assets/tok")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Config() == nil || tok.VocabSize() != 6400 {
		t.Errorf("LoadFS: config %v, vocab %d", tok.Config(), tok.VocabSize())
	}
	bare, err := LoadFS(fsys, "bare")
	if err != nil {
		t.Fatal(err)
	}
	if bare.Config() != nil {
		t.Error("a folder without tokenizer_config.json should give a nil Config")
	}
	if _, err := LoadFS(fsys, "missing"); err == nil {
		t.Error("LoadFS of a missing folder succeeded")
	}
}

// TestLoadErrors checks that unsupported or damaged files are rejected with
// an error that names the field.
func TestLoadErrors(t *testing.T) {
	p := filepath.Join(fixtureDir, "minimind2", TokenizerFile)
	base, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("fixture not found: %v", err)
	}
	s := string(base)
	tests := []struct {
		name, old, new, wantErr string
	}{
		{"normalizer", `"normalizer": null`, `"normalizer": {"type": "NFC"}`, "normalizer"},
		{"truncation", `"truncation": null`, `"truncation": {"max_length": 5}`, "truncation"},
		{"padding", `"padding": null`, `"padding": {}`, "padding"},
		{"pre_tokenizer type", `"pre_tokenizer": {
    "type": "ByteLevel"`, `"pre_tokenizer": {
    "type": "Whitespace"`, "pre_tokenizer"},
		{"pre_tokenizer null", `"pre_tokenizer": {`, `"pre_tokenizer": null, "x": {`, "pre_tokenizer"},
		{"decoder", `"decoder": {
    "type": "ByteLevel"`, `"decoder": {
    "type": "WordPiece"`, "decoder"},
		{"post_processor", `"post_processor": null`, `"post_processor": {"type": "TemplateProcessing"}`, "post_processor"},
		{"model type", `"type": "BPE"`, `"type": "WordPiece"`, "model.type"},
		{"dropout", `"dropout": null`, `"dropout": 0.1`, "model.dropout"},
		{"prefix", `"continuing_subword_prefix": null`, `"continuing_subword_prefix": "##"`, "continuing_subword_prefix"},
		{"suffix", `"end_of_word_suffix": null`, `"end_of_word_suffix": "</w>"`, "end_of_word_suffix"},
		{"byte_fallback", `"byte_fallback": false`, `"byte_fallback": true`, "byte_fallback"},
		{"unk", `"unk_token": null`, `"unk_token": "<unk>"`, "unk_token"},
		{"merge part", `"Ġ",
        "t"`, `"Ġ",
        "nope"`, "model.merges[0]"},
		{"merge shape", `[
        "Ġ",
        "t"
      ],`, `["Ġ"],`, "model.merges[0]"},
		{"vocab id", `"!": 3,`, `"!": -3,`, "model.vocab"},
		{"vocab dup", `"!": 3,`, `"!": 4,`, "share id 4"},
		{"not json", `{`, `[`, "tokenizer.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(s, tt.old) {
				t.Fatalf("fixture lacks %q", tt.old)
			}
			_, err := FromJSON([]byte(strings.Replace(s, tt.old, tt.new, 1)), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not name %q", err, tt.wantErr)
			}
		})
	}
	if _, err := ParseConfig([]byte(`{"bos_token": 3}`), "cfg.json"); err == nil || !strings.Contains(err.Error(), "bos_token") {
		t.Errorf("bad bos_token: %v", err)
	}
	if _, err := ParseConfig([]byte(`{"chat_template": 3}`), "cfg.json"); err == nil || !strings.Contains(err.Error(), "chat_template") {
		t.Errorf("bad chat_template: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("Load of a missing path succeeded")
	}
}
