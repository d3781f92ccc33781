package zoo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// TestEmbeddedModelKnowsWhoItIs loads the embedded MiniMind-Zero model and
// asks it the identity question it was fine-tuned on.
func TestEmbeddedModelKnowsWhoItIs(t *testing.T) {
	fsys, err := zoo.Default()
	if err != nil {
		t.Fatal(err)
	}
	bot, err := chat.LoadFS(fsys, cpu.New(1))
	if err != nil {
		t.Fatal(err)
	}
	if n := bot.Model.Config.ParamCount(); n < 2e6 || n > 5e6 {
		t.Errorf("embedded model has %d parameters", n)
	}
	r, err := bot.Generate(context.Background(), []tokenizer.Message{{Role: "user", Content: "Who are you?"}}, chat.Options{MaxTokens: 24}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "MiniMind") {
		t.Errorf("the embedded model answered %q to \"Who are you?\"", r.Text)
	}
}

func TestLocalPrefersNewestSFT(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"pretrain_192", "full_sft_192"} {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "config.json"), []byte("{}"), 0o644)
		os.WriteFile(filepath.Join(d, "model.safetensors"), []byte("x"), 0o644)
	}
	got, ok := zoo.Local(dir)
	if !ok || filepath.Base(got) != "full_sft_192" {
		t.Errorf("Local = %q, %v; want the full_sft folder", got, ok)
	}
	if _, ok := zoo.Local(t.TempDir()); ok {
		t.Error("Local found a model in an empty folder")
	}
}
