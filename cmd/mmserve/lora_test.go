//go:build !js

package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestWithLoRA serves base + adapters: the served folder's logits equal the
// base model's with the adapters applied.
func TestWithLoRA(t *testing.T) {
	cfg, _ := model.Preset("tiny")
	host := model.InitWeights(cfg, 2)
	dir := t.TempDir()
	require.NoError(t, checkpoint.Save(dir, cfg, host, checkpoint.SaveOptions{}))
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "minimind", "minimind2", n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), data, 0o644))
	}
	m, err := model.New(cfg, cpu.New(1), host)
	require.NoError(t, err)
	l, err := model.AttachLoRA(m, model.LoRAOptions{Rank: 4, Targets: []string{"q_proj", "up_proj"}, Seed: 3})
	require.NoError(t, err)
	for i, a := range l.Adapters { // give B values so the adapters matter
		b := make([]float32, a.Out*l.Rank)
		for j := range b {
			b[j] = float32((i+j)%7-3) * 0.05
		}
		a.B = m.Engine.Upload(b)
	}
	ad := &checkpoint.Adapters{Rank: l.Rank, Tensors: l.HostTensors(m.Engine), Shapes: map[string][]int{}}
	for _, p := range l.Params() {
		ad.Shapes[p.Name] = p.Shape
	}
	base := filepath.Join(t.TempDir(), "lora")
	require.NoError(t, checkpoint.SaveAdapters(base, ad))

	served, cleanup, err := withLoRA(os.DirFS(dir), base+"_peft")
	require.NoError(t, err)
	defer cleanup()
	c2, w2, err := checkpoint.LoadFS(served, "")
	require.NoError(t, err)
	m2, err := model.New(c2, cpu.New(1), w2)
	require.NoError(t, err)
	ids := []int32{1, 40, 41, 42}
	want, err := m.Forward(ids, 1, model.ForwardOptions{})
	require.NoError(t, err)
	got, err := m2.Forward(ids, 1, model.ForwardOptions{})
	require.NoError(t, err)
	wv, gv := m.Engine.Read(want), m2.Engine.Read(got)
	for i := range wv {
		require.InDelta(t, wv[i], gv[i], 1e-4)
	}
	_, _, err = withLoRA(os.DirFS(dir), filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "--lora")
}

// TestWithAdapters serves the adapters beside the model: the folder lists
// the base files plus adapter_model.safetensors and adapter_config.json, the
// base weights are untouched, and the served adapters are those of --lora
// (any form LoadAdapters reads). Bad adapters fail with --lora in the error.
func TestWithAdapters(t *testing.T) {
	modelDir := writeTestModel(t, "tiny", "minimind2", 1)
	base := writeTestAdapters(t, "tiny", 8)
	for _, src := range []string{base + ".safetensors", base + ".pth", base + "_peft"} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			served, cleanup, err := withAdapters(os.DirFS(modelDir), src)
			require.NoError(t, err)
			defer cleanup()
			entries, err := fs.ReadDir(served, ".")
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			require.Equal(t, []string{"adapter_config.json", "adapter_model.safetensors", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}, names)
			orig, err := os.ReadFile(filepath.Join(modelDir, "model.safetensors"))
			require.NoError(t, err)
			got, err := fs.ReadFile(served, "model.safetensors")
			require.NoError(t, err)
			require.Equal(t, orig, got, "the base weights are served unmerged")
			w, err := fs.ReadFile(served, "adapter_model.safetensors")
			require.NoError(t, err)
			c, err := fs.ReadFile(served, "adapter_config.json")
			require.NoError(t, err)
			a, err := checkpoint.ParseAdapters("adapter_model.safetensors", w, c)
			require.NoError(t, err)
			want, err := checkpoint.LoadAdapters(base + ".safetensors")
			require.NoError(t, err)
			if filepath.Ext(src) == ".pth" {
				want.Alpha = 0 // MiniMind's .pth holds no alpha
			}
			require.Equal(t, want.Alpha, a.Alpha)
			require.Equal(t, want.Shapes, a.Shapes)
			for n, v := range want.Tensors {
				require.InDeltaSlice(t, v, a.Tensors[n], 1e-3, n) // the .pth holds F16
			}
		})
	}
	_, _, err := withAdapters(os.DirFS(modelDir), filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "--lora")
	other := writeTestAdapters(t, "zero", 0) + ".safetensors" // adapters of another shape
	_, _, err = withAdapters(os.DirFS(modelDir), other)
	require.ErrorContains(t, err, "--lora")
}

// TestExportLoRA: mmserve --export --lora writes the adapters beside the
// default model and lists them in its manifest.
func TestExportLoRA(t *testing.T) {
	modelDir := writeTestModel(t, "tiny", "minimind2", 1)
	lora := writeTestAdapters(t, "tiny", 0) + ".safetensors"
	dir := t.TempDir()
	wasm := filepath.Join(t.TempDir(), "minimind.wasm")
	require.NoError(t, os.WriteFile(wasm, fakeRuntime.Wasm, 0o644))
	execJS := filepath.Join(t.TempDir(), "wasm_exec.js")
	require.NoError(t, os.WriteFile(execJS, fakeRuntime.Exec, 0o644))
	var log logBuffer
	require.NoError(t, run(context.Background(), []string{"--export", dir, "--model", modelDir, "--lora", lora, "--wasm", wasm, "--wasm-exec", execJS}, &log, nil))
	manifest, err := os.ReadFile(filepath.Join(dir, "models", "default", "manifest.json"))
	require.NoError(t, err)
	require.Contains(t, string(manifest), `"adapter_model.safetensors"`)
	require.Contains(t, string(manifest), `"adapter_config.json"`)
	require.Contains(t, string(manifest), "+ LoRA lora_test.safetensors")
	w, err := os.ReadFile(filepath.Join(dir, "models", "default", "adapter_model.safetensors"))
	require.NoError(t, err)
	a, err := checkpoint.ParseAdapters("adapter_model.safetensors", w, nil)
	require.NoError(t, err)
	require.Equal(t, 4, a.Rank)
}
