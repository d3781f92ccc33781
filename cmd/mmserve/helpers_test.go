package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
)

// fixtureDir is MiniMind's real tokenizer of a generation, beside the checkout.
func fixtureDir(t testing.TB, family string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "minimind", family)
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatalf("MiniMind tokenizer fixtures missing at %s", dir)
	}
	return dir
}

// writeTestModel writes a random model of preset (seeded) with MiniMind's
// real tokenizer of family into a new folder. The layers' matrices are
// scaled up (std 0.16 instead of 0.02) so that they, not the tied embedding,
// decide the next token: with GPT-style init a random model just repeats its
// last token, which would make a weak test of generation.
func writeTestModel(t testing.TB, preset, family string, seed uint64) string {
	t.Helper()
	fix := fixtureDir(t, family)
	c, err := model.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	w := model.InitWeights(c, seed)
	for _, p := range c.Params(w) {
		if len(p.Shape) == 2 && p.Name != "model.embed_tokens.weight" {
			for i := range (*p.Ptr).(*model.Host).Data {
				(*p.Ptr).(*model.Host).Data[i] *= 8
			}
		}
	}
	dir := t.TempDir()
	if err := checkpoint.Save(dir, c, w, checkpoint.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(fix, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// nativeReply is the reference: the greedy reply of the native CPU engine
// (model.Generate in this process) to msgs, formatted by the model's chat
// template (with vars), stopping at the chat stop tokens.
func nativeReply(t testing.TB, dir string, msgs []tokenizer.Message, maxTokens int, vars map[string]any) ([]int32, string) {
	t.Helper()
	cfg, w, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, cpu.New(0), w)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	bot, err := chat.New(m, tok)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true, Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Generate(context.Background(), tok.Encode(text), model.GenerateOptions{MaxTokens: maxTokens, StopTokens: bot.Stop})
	if err != nil {
		t.Fatal(err)
	}
	return out, tok.DecodeSkipSpecial(out)
}
