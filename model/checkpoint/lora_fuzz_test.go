package checkpoint_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/pth"
	"github.com/minimind-go/minimind/model/safetensors"
)

// adapterSeed is a valid adapter file for the tiny3 preset (rank 2 on
// layer 0's q_proj).
func adapterSeed(t testing.TB, writePth bool) []byte {
	ts := []safetensors.Tensor{
		{Name: "model.layers.0.self_attn.q_proj.lora.A.weight", DType: safetensors.F32, Shape: []int{2, 64}, Data: make([]float32, 128)},
		{Name: "model.layers.0.self_attn.q_proj.lora.B.weight", DType: safetensors.F32, Shape: []int{64, 2}, Data: make([]float32, 128)},
	}
	var buf bytes.Buffer
	var err error
	if writePth {
		var pts []pth.WriteTensor
		for _, t := range ts {
			pts = append(pts, pth.WriteTensor{Name: t.Name, Shape: t.Shape, Data: t.Data})
		}
		err = pth.Write(&buf, pts, safetensors.F16)
	} else {
		err = safetensors.Write(&buf, ts, map[string]string{"lora_alpha": "4"})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzLoadAdapters feeds arbitrary bytes as an adapter file (safetensors
// and .pth) and applies what loads to a tiny model: errors, never panics.
func FuzzLoadAdapters(f *testing.F) {
	f.Add(adapterSeed(f, false), false)
	f.Add(adapterSeed(f, true), true)
	cfg, _ := model.Preset("tiny3")
	host := model.InitWeights(cfg, 1)
	f.Fuzz(func(t *testing.T, data []byte, isPth bool) {
		name := "a.safetensors"
		if isPth {
			name = "a.pth"
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := checkpoint.LoadAdapters(path)
		if err != nil {
			return
		}
		m, err := model.New(cfg, cpu.New(1), host)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := model.LoadLoRA(m, a.Tensors, a.Shapes, model.LoRAOptions{Alpha: a.Alpha}); err != nil {
			return
		}
		if _, err := m.Forward([]int32{1, 2, 3}, 1, model.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := model.MergeLoRA(cfg, host, a.Tensors, a.Rank, 1); err != nil {
			t.Fatal(err)
		}
	})
}
