package convert

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/model/safetensors"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// saveFolder writes a preset with random weights and a tokenizer as a model folder.
func saveFolder(t *testing.T, preset, tok string) string {
	t.Helper()
	c, err := model.Preset(preset)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), preset)
	require.NoError(t, checkpoint.Save(dir, c, model.InitWeights(c, 9), checkpoint.SaveOptions{}))
	tk, err := tokenizer.Load("../testdata/minimind/" + tok)
	require.NoError(t, err)
	require.NoError(t, tk.Save(dir))
	return dir
}

func TestOllamaTemplate(t *testing.T) {
	zeroTok, err := tokenizer.LoadFS(zoo.Tokenizer(), ".")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		tok  func() (*tokenizer.Tokenizer, error)
	}{
		{"minimind2", func() (*tokenizer.Tokenizer, error) { return tokenizer.Load("../testdata/minimind/minimind2") }},
		{"minimind3", func() (*tokenizer.Tokenizer, error) { return tokenizer.Load("../testdata/minimind/minimind3") }},
		{"zero", func() (*tokenizer.Tokenizer, error) { return zeroTok, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.tok()
			require.NoError(t, err)
			tmpl, err := OllamaTemplate(tok)
			require.NoError(t, err) // renders SampleConversations exactly as the Jinja template
			// The other family's template does not: the check can fail.
			other := templateMiniMind3
			if tmpl == templateMiniMind3 {
				other = templateMiniMind2
			}
			assert.Error(t, CheckTemplate(tok, other))
		})
	}
}

func TestWriteGGUFWithModelfile(t *testing.T) {
	src, err := Load(saveFolder(t, "tiny", "minimind2"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "m.gguf")
	mf, err := WriteGGUF(src, out, GGUFOptions{Type: gguf.Q8_0, Modelfile: true})
	require.NoError(t, err)
	data, err := os.ReadFile(mf)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "# ollama create"))
	assert.Contains(t, string(data), "FROM ./m.gguf\n")
	assert.Contains(t, string(data), `PARAMETER stop "<|im_end|>"`)
	g, err := gguf.Open(out)
	require.NoError(t, err)
	defer g.Close()
	ti, ok := g.Tensor("blk.0.ffn_up.weight")
	require.True(t, ok)
	assert.Equal(t, gguf.Q8_0, ti.Type)
	// And the GGUF loads back as a source.
	back, err := Load(out)
	require.NoError(t, err)
	assert.Equal(t, src.Config, back.Config)
}

func TestWriteHF(t *testing.T) {
	for _, tc := range []struct{ preset, tok, arch string }{
		{"tiny", "minimind2", "LlamaForCausalLM"},
		{"tiny3", "minimind3", "Qwen3ForCausalLM"},
		{"tiny3-moe", "minimind3", "Qwen3MoeForCausalLM"},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			src, err := Load(saveFolder(t, tc.preset, tc.tok))
			require.NoError(t, err)
			dir := filepath.Join(t.TempDir(), "hf")
			require.NoError(t, WriteHF(src, dir, HFOptions{}))
			for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
				assert.FileExists(t, filepath.Join(dir, f))
			}
			var cfg map[string]any
			data, err := os.ReadFile(filepath.Join(dir, "config.json"))
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &cfg))
			assert.Equal(t, []any{tc.arch}, cfg["architectures"])
			assert.Equal(t, "float16", cfg["torch_dtype"])
			// This project reads the folder back as the same model, fp16-rounded.
			c2, w2, err := checkpoint.Load(dir)
			require.NoError(t, err)
			assert.Equal(t, src.Config, c2)
			p1, p2 := src.Config.Params(src.Weights), c2.Params(w2)
			for i := range p1 {
				a, b := (*p1[i].Ptr).(*model.Host).Data, (*p2[i].Ptr).(*model.Host).Data
				for j := range a {
					require.Equal(t, safetensors.F16ToFloat32(safetensors.Float32ToF16(a[j])), b[j], p1[i].Name)
				}
			}
		})
	}
	src, err := Load(saveFolder(t, "tiny-moe", "minimind2"))
	require.NoError(t, err)
	assert.ErrorContains(t, WriteHF(src, t.TempDir(), HFOptions{}), "shared expert")
}

func TestWritePTH(t *testing.T) {
	for _, tc := range []struct{ preset, tok string }{{"tiny", "minimind2"}, {"tiny3-moe", "minimind3"}} {
		t.Run(tc.preset, func(t *testing.T) {
			src, err := Load(saveFolder(t, tc.preset, tc.tok))
			require.NoError(t, err)
			out := filepath.Join(t.TempDir(), "full_sft_64.pth")
			require.NoError(t, WritePTH(src, out))
			// A bare .pth: the architecture is inferred from the shapes.
			c2, w2, err := checkpoint.Load(out)
			require.NoError(t, err)
			assert.Equal(t, src.Config.Hidden, c2.Hidden)
			assert.Equal(t, src.Config.Experts, c2.Experts)
			p1, p2 := src.Config.Params(src.Weights), c2.Params(w2)
			require.Len(t, p2, len(p1))
			for i := range p1 {
				a, b := (*p1[i].Ptr).(*model.Host).Data, (*p2[i].Ptr).(*model.Host).Data
				for j := range a {
					require.Equal(t, safetensors.F16ToFloat32(safetensors.Float32ToF16(a[j])), b[j], p1[i].Name)
				}
			}
		})
	}
}
