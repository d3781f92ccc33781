package tokenizer

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readGzip returns the contents of a gzip-compressed testdata file.
func readGzip(t testing.TB, name string) []byte {
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
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTrainMatchesHF trains on the golden corpus and compares the merges with
// the ones Hugging Face's BpeTrainer learned from it (default settings: all
// of them, in order; MiniMind's settings: the first 6400-259).
func TestTrainMatchesHF(t *testing.T) {
	corpus := readGzip(t, "train_corpus.txt.gz")
	var golden struct {
		VocabSize int         `json:"vocab_size"`
		Merges    [][2]string `json:"merges"`
	}
	if err := json.Unmarshal(readGzip(t, "train_merges.json.gz"), &golden); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts TrainOptions
		want [][2]string
	}{
		{"hf_defaults", TrainOptions{VocabSize: 30000, SpecialTokens: []string{}, SeenAlphabetOnly: true}, golden.Merges},
		{"minimind", TrainOptions{}, golden.Merges[:6400-3-256]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := Train(context.Background(), LineTexts(bytes.NewReader(corpus)), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := tok.Merges()
			same := 0
			for same < len(got) && same < len(tt.want) && got[same] == tt.want[same] {
				same++
			}
			if same != len(tt.want) || len(got) != len(tt.want) {
				t.Fatalf("%d merges, %d wanted; first difference at %d", len(got), len(tt.want), same)
			}
		})
	}
}

// TestTrainOutput checks the layout of a trained tokenizer: special tokens
// first, the 256 ByteLevel symbols, a chat template, a round trip through
// Save and Load, and lossless encoding.
func TestTrainOutput(t *testing.T) {
	corpus := readGzip(t, "train_corpus.txt.gz")
	var progress []TrainProgress
	tok, err := Train(context.Background(), LineTexts(bytes.NewReader(corpus)), TrainOptions{
		VocabSize: 1000,
		Progress:  func(p TrainProgress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 1000 {
		t.Errorf("VocabSize = %d", tok.VocabSize())
	}
	for i, s := range MiniMindSpecialTokens {
		if id, ok := tok.TokenToID(s); !ok || id != int32(i) || !tok.IsSpecial(id) {
			t.Errorf("%s: id %d, %v", s, id, ok)
		}
	}
	if id, _ := tok.TokenToID("!"); id != 3 {
		t.Errorf(`"!" has id %d, want 3`, id)
	}
	if len(progress) < 2 || progress[len(progress)-1].Stage != "merge" || progress[len(progress)-1].Done != 1000 {
		t.Errorf("progress reports: %+v", progress)
	}
	if c := tok.Config(); c == nil || c.ChatTemplate != MiniMindChatTemplate || c.BOSToken != "<|im_start|>" {
		t.Errorf("config: %+v", c)
	}
	dir := t.TempDir()
	if err := tok.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hello world", "你好，世界", "<|im_start|>x<|im_end|>", "\xff\xfe broken"} {
		ids := back.Encode(s)
		if !slices.Equal(ids, tok.Encode(s)) {
			t.Errorf("%q encodes differently after Save/Load", s)
		}
		if got := string(back.DecodeBytes(ids)); got != s {
			t.Errorf("DecodeBytes(Encode(%q)) = %q", s, got)
		}
	}
	again, err := back.MarshalTokenizerJSON()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, TokenizerFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, saved) {
		t.Error("a loaded trained tokenizer saves differently")
	}
}

// TestJSONLTexts checks the texts taken from pretraining and SFT lines and
// the errors for bad lines.
func TestJSONLTexts(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  string
	}{
		{"text", `{"text": "a"}` + "\n\n" + `{"text": "b\nc"}`, []string{"a", "b\nc"}, ""},
		{"sft", `{"conversations": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r", "reasoning_content": "t"}]}`, []string{"q", "t", "r"}, ""},
		{"no newline at end", `{"text": "x"}`, []string{"x"}, ""},
		{"bad json", `{"text": "a"}` + "\n{oops\n", []string{"a"}, "corpus.jsonl:2"},
		{"no field", `{"other": 1}`, nil, "corpus.jsonl:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var err error
			for s, e := range JSONLTexts(strings.NewReader(tt.in), "corpus.jsonl") {
				if e != nil {
					err = e
					break
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("texts %q, want %q", got, tt.want)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestTrainCancel checks that a cancelled context stops training.
func TestTrainCancel(t *testing.T) {
	corpus := readGzip(t, "train_corpus.txt.gz")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, LineTexts(bytes.NewReader(corpus)), TrainOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Train with a cancelled context: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	_, err := Train(ctx, LineTexts(bytes.NewReader(corpus)), TrainOptions{Progress: func(p TrainProgress) {
		if p.Stage == "merge" && p.Done > 600 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Train cancelled while merging: %v", err)
	}
}
