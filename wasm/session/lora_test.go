package session

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// testAdapters writes rank-4 adapters with non-zero B on q_proj and
// down_proj of the tiny preset and returns them with the PEFT folder's
// files.
func testAdapters(t *testing.T, alpha float64) (*checkpoint.Adapters, Files) {
	t.Helper()
	cfg, err := model.Preset("tiny")
	require.NoError(t, err)
	mods, err := model.LoRAModules(cfg, []string{"q_proj", "down_proj"})
	require.NoError(t, err)
	w := model.InitWeights(cfg, 7)
	a := &checkpoint.Adapters{Rank: 4, Alpha: alpha, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	for i, m := range mods {
		var in, out int
		for _, p := range cfg.Params(w) {
			if p.Name == m+".weight" {
				out, in = p.Shape[0], p.Shape[1]
			}
		}
		A, B := make([]float32, 4*in), make([]float32, out*4) // [r, in], [out, r]
		for j := range A {
			A[j] = float32((i+j)%5-2) * 0.05
		}
		for j := range B {
			B[j] = float32((i+2*j)%7-3) * 0.1
		}
		a.Tensors[m+".lora.A.weight"], a.Shapes[m+".lora.A.weight"] = A, []int{4, in}
		a.Tensors[m+".lora.B.weight"], a.Shapes[m+".lora.B.weight"] = B, []int{out, 4}
	}
	base := filepath.Join(t.TempDir(), "lora_test")
	require.NoError(t, checkpoint.SaveAdapters(base, a))
	files := Files{}
	for _, n := range []string{AdapterFile, AdapterConfigFile} {
		data, err := os.ReadFile(filepath.Join(base+"_peft", n))
		require.NoError(t, err)
		files[n] = data
	}
	mini, err := os.ReadFile(base + ".safetensors")
	require.NoError(t, err)
	files["minimind.safetensors"] = mini
	return a, files
}

// TestLoadAdapters loads a model with adapters beside it: the session's
// greedy reply equals the merged model's (base + s·B·A) and differs from the
// base model's, for MiniMind's unscaled adapters and PEFT's alpha/r scale,
// from the PEFT file and from MiniMind's names under the adapter file name.
func TestLoadAdapters(t *testing.T) {
	ctx := context.Background()
	msgs := Request{Prompt: "你好，你是谁？", MaxTokens: 16}
	baseFiles := scaledFiles(t)
	base, err := Load(ctx, "tiny", baseFiles, cpu.New(1))
	require.NoError(t, err)
	baseRes, err := base.Generate(ctx, msgs, nil)
	require.NoError(t, err)
	require.Nil(t, base.Info().LoRA)

	for _, tc := range []struct {
		name   string
		alpha  float64
		minimi bool // MiniMind's tensor names, no adapter_config.json
	}{{"peft-unscaled", 0, false}, {"peft-alpha8", 8, false}, {"minimind-names", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			a, af := testAdapters(t, tc.alpha)
			files := Files{}
			for n, d := range baseFiles {
				files[n] = d
			}
			if tc.minimi {
				files[AdapterFile] = af["minimind.safetensors"]
			} else {
				files[AdapterFile], files[AdapterConfigFile] = af[AdapterFile], af[AdapterConfigFile]
			}
			s, err := Load(ctx, "tiny", files, cpu.New(1))
			require.NoError(t, err)
			info := s.Info()
			require.NotNil(t, info.LoRA)
			assert.Equal(t, LoRAInfo{File: AdapterFile, Layers: 4, Rank: 4, Alpha: tc.alpha, Params: info.LoRA.Params}, *info.LoRA)
			assert.Equal(t, SafetensorsFile, info.WeightsFile)
			got, err := s.Generate(ctx, msgs, nil)
			require.NoError(t, err)

			// The oracle: the merged weights on their own.
			cfg, w, err := checkpoint.LoadFS(memFS{SafetensorsFile: baseFiles[SafetensorsFile], ConfigFile: baseFiles[ConfigFile]}, SafetensorsFile)
			require.NoError(t, err)
			scale := float32(1)
			if tc.alpha != 0 {
				scale = float32(tc.alpha / 4)
			}
			merged, err := model.MergeLoRA(cfg, w, a.Tensors, 4, scale)
			require.NoError(t, err)
			mm, err := model.New(cfg, cpu.New(1), merged)
			require.NoError(t, err)
			ms, err := Load(ctx, "merged", Files{TokenizerFile: baseFiles[TokenizerFile], TokenizerConfigFile: baseFiles[TokenizerConfigFile],
				SafetensorsFile: mustSave(t, cfg, mm), ConfigFile: baseFiles[ConfigFile]}, cpu.New(1))
			require.NoError(t, err)
			want, err := ms.Generate(ctx, msgs, nil)
			require.NoError(t, err)
			require.Equal(t, want.Tokens, got.Tokens, "base + adapters vs merged")
			require.NotEqual(t, baseRes.Tokens, got.Tokens, "the adapters change nothing")
		})
	}
}

// scaledFiles is testFiles's tiny model with its layers' matrices scaled
// up (std 0.16) so that they, not the tied embedding, pick the next token.
func scaledFiles(t *testing.T) Files {
	t.Helper()
	files := testFiles(t, "tiny", "minimind2")
	cfg, w, err := checkpoint.LoadFS(memFS{SafetensorsFile: files[SafetensorsFile], ConfigFile: files[ConfigFile]}, SafetensorsFile)
	require.NoError(t, err)
	for _, p := range cfg.Params(w) {
		if len(p.Shape) == 2 && p.Name != "model.embed_tokens.weight" {
			for i := range (*p.Ptr).(*model.Host).Data {
				(*p.Ptr).(*model.Host).Data[i] *= 8
			}
		}
	}
	m, err := model.NewOnEngine(cfg, cpu.New(1), w)
	require.NoError(t, err)
	files[SafetensorsFile] = mustSave(t, cfg, m)
	return files
}

func mustSave(t *testing.T, cfg model.Config, m *model.Model) []byte {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, checkpoint.Save(dir, cfg, m.W, checkpoint.SaveOptions{}))
	data, err := os.ReadFile(filepath.Join(dir, SafetensorsFile))
	require.NoError(t, err)
	return data
}

// TestLoadAdaptersErrors: bad adapter files fail the load with a message
// that names the adapter file.
func TestLoadAdaptersErrors(t *testing.T) {
	_, af := testAdapters(t, 0)
	for _, tc := range []struct {
		name string
		edit func(Files)
		want string
	}{
		{"not-safetensors", func(f Files) { f[AdapterFile] = []byte("nope") }, AdapterFile},
		{"bad-config", func(f Files) { f[AdapterFile], f[AdapterConfigFile] = af[AdapterFile], []byte("{") }, AdapterConfigFile},
		{"model-weights", func(f Files) { f[AdapterFile] = f[SafetensorsFile] }, "not a LoRA adapter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := testFiles(t, "tiny", "minimind2")
			tc.edit(files)
			_, err := Load(context.Background(), "tiny", files, cpu.New(1))
			require.ErrorContains(t, err, tc.want)
		})
	}
	// Adapters of another model's shape.
	files := testFiles(t, "zero", "minimind2")
	files[AdapterFile], files[AdapterConfigFile] = af[AdapterFile], af[AdapterConfigFile]
	_, err := Load(context.Background(), "zero", files, cpu.New(1))
	require.ErrorContains(t, err, "LoRA adapters "+AdapterFile)
}
