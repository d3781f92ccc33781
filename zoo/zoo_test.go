package zoo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// TestEmbeddedModelAnswers loads the embedded MiniMind-Zero model and asks
// it questions it was fine-tuned on (greedy): who it is, and what common
// words of its core vocabulary mean. An answer passes when it contains one
// of the words a sensible answer must contain.
func TestEmbeddedModelAnswers(t *testing.T) {
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
	for _, tc := range []struct {
		question string
		want     []string // any of
	}{
		{"Who are you?", []string{"MiniMind"}},
		{"你是谁？", []string{"MiniMind"}},
		{"What does \"water\" mean?", []string{"liquid", "compound"}},
		{"What is a city?", []string{"urban", "town"}},
		{"What is the opposite of \"good\"?", []string{"bad", "evil"}},
	} {
		t.Run(tc.question, func(t *testing.T) {
			r, err := bot.Generate(context.Background(), []tokenizer.Message{{Role: "user", Content: tc.question}}, chat.Options{MaxTokens: 40}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if strings.Contains(r.Text, w) {
					return
				}
			}
			t.Errorf("the embedded model answered %q; want one of %q", r.Text, tc.want)
		})
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

// TestLoadBotGGUF loads the embedded model exported as GGUF (f16) with
// LoadBot, which reads the file directly, and through the in-memory folder
// of checkpoint.GGUFFolder (what mmserve serves): same weights, same
// tokenizer, the same greedy answer.
func TestLoadBotGGUF(t *testing.T) {
	fsys, err := zoo.Default()
	require.NoError(t, err)
	ref, err := chat.LoadFS(fsys, cpu.New(1))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "zero.gguf")
	var buf bytes.Buffer
	require.NoError(t, gguf.Export(&buf, ref.Model.Config, ref.Model.W, ref.Tok, gguf.ExportOptions{Type: gguf.F16}))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))

	direct, source, err := zoo.LoadBot(path, cpu.New(1))
	require.NoError(t, err)
	require.Equal(t, path, source)
	folder, err := checkpoint.GGUFFolder(path)
	require.NoError(t, err)
	viaFolder, err := chat.LoadFS(folder, cpu.New(1))
	require.NoError(t, err)
	require.Equal(t, viaFolder.Model.Config, direct.Model.Config)
	for i, p := range direct.Model.Config.Params(direct.Model.W) {
		q := viaFolder.Model.Config.Params(viaFolder.Model.W)[i]
		require.Equal(t, q.Name, p.Name)
		require.Equal(t, (*q.Ptr).(*model.Host).Data, (*p.Ptr).(*model.Host).Data, p.Name)
	}
	msgs := []tokenizer.Message{{Role: "user", Content: "Who are you?"}}
	a, err := direct.Generate(context.Background(), msgs, chat.Options{MaxTokens: 24}, nil)
	require.NoError(t, err)
	b, err := viaFolder.Generate(context.Background(), msgs, chat.Options{MaxTokens: 24}, nil)
	require.NoError(t, err)
	require.Equal(t, b.Text, a.Text)
	require.Contains(t, a.Text, "MiniMind")
}
