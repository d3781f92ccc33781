package main

import (
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
