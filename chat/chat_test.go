package chat_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
)

// testFolder writes a random tiny model with MiniMind's real tokenizer
// (testdata/minimind) into a temporary folder.
func testFolder(t *testing.T, family string) string {
	t.Helper()
	fix := filepath.Join("..", "testdata", "minimind", family)
	if _, err := os.Stat(fix); err != nil {
		t.Fatalf("MiniMind tokenizer fixtures missing at %s (testdata/minimind in the repository)", fix)
	}
	preset := map[string]string{"minimind2": "tiny", "minimind3": "tiny3"}[family]
	c, _ := model.Preset(preset)
	dir := t.TempDir()
	if err := checkpoint.Save(dir, c, model.InitWeights(c, 11), checkpoint.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(fix, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	return dir
}

func TestGenerateStreamsAndIsDeterministic(t *testing.T) {
	for _, fam := range []string{"minimind2", "minimind3"} {
		t.Run(fam, func(t *testing.T) {
			bot, err := chat.Load(testFolder(t, fam), cpu.New(1))
			if err != nil {
				t.Fatal(err)
			}
			msgs := []tokenizer.Message{{Role: "user", Content: "你好, who are you?"}}
			opt := chat.Options{MaxTokens: 20, Sample: model.SampleOptions{Temperature: 0.9, TopP: 0.9}, Seed: 5}
			var streamed strings.Builder
			r1, err := bot.Generate(context.Background(), msgs, opt, func(s string) error { streamed.WriteString(s); return nil })
			if err != nil {
				t.Fatal(err)
			}
			r2, err := bot.Generate(context.Background(), msgs, opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r1.Text != r2.Text || len(r1.Tokens) != len(r2.Tokens) {
				t.Errorf("same seed, different replies: %q vs %q", r1.Text, r2.Text)
			}
			if got := streamed.String(); !strings.HasSuffix(got, r1.Text) {
				t.Errorf("streamed %q does not end with the reply %q", got, r1.Text)
			}
			if r1.PromptTokens < 5 {
				t.Errorf("prompt has %d tokens", r1.PromptTokens)
			}
			for _, id := range r1.Tokens {
				for _, s := range bot.Stop {
					if id == s {
						t.Errorf("reply contains stop token %d", id)
					}
				}
			}
		})
	}
}

func TestPromptUsesTemplate(t *testing.T) {
	bot, err := chat.Load(testFolder(t, "minimind2"), cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := bot.Prompt([]tokenizer.Message{{Role: "user", Content: "hi"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	text := bot.Tok.Decode(ids)
	if !strings.HasSuffix(text, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n") {
		t.Errorf("prompt %q is not ChatML with a generation prompt", text)
	}
}

func TestSplitThink(t *testing.T) {
	tests := []struct{ in, reasoning, answer string }{
		{"plain answer", "", "plain answer"},
		{"<think>\nstep 1\n</think>\n\nAnswer.", "step 1", "Answer."},
		{"reasoning only</think>\n\nAnswer.", "reasoning only", "Answer."},
		{"<think>\nunfinished", "unfinished", ""},
	}
	for _, tc := range tests {
		r, a := chat.SplitThink(tc.in)
		if r != tc.reasoning || a != tc.answer {
			t.Errorf("SplitThink(%q) = %q, %q; want %q, %q", tc.in, r, a, tc.reasoning, tc.answer)
		}
	}
}
