package checkpoint_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestParseAdapters reads adapters held in memory with MiniMind's names
// (alpha from the metadata) and with PEFT's names and config (alpha/r = 1
// means unscaled), and names the file in its errors.
func TestParseAdapters(t *testing.T) {
	for _, tc := range []struct {
		name      string
		weights   []byte
		config    []byte
		wantAlpha float64
		wantErr   string
	}{
		{"minimind", adapterSeed(t, false), nil, 4, ""},
		{"peft-unscaled", adapterSeed(t, false), []byte(`{"peft_type":"LORA","r":2,"lora_alpha":2}`), 0, ""},
		{"peft-alpha", adapterSeed(t, false), []byte(`{"peft_type":"LORA","r":2,"lora_alpha":8}`), 8, ""},
		{"not-lora", adapterSeed(t, false), []byte(`{"peft_type":"IA3"}`), 0, "IA3"},
		{"bad-config", adapterSeed(t, false), []byte(`{`), 0, checkpoint.PEFTConfigFile},
		{"garbage", []byte("nope"), nil, 0, "x.safetensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := checkpoint.ParseAdapters("x.safetensors", tc.weights, tc.config)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, 2, a.Rank)
			require.Equal(t, tc.wantAlpha, a.Alpha)
			require.Equal(t, []int{2, 64}, a.Shapes["model.layers.0.self_attn.q_proj.lora.A.weight"])
		})
	}
}

// FuzzParseAdapters feeds arbitrary bytes as an adapter file and config and
// applies what parses to a tiny model: errors, never panics.
func FuzzParseAdapters(f *testing.F) {
	f.Add(adapterSeed(f, false), []byte(nil))
	f.Add(adapterSeed(f, false), []byte(`{"peft_type":"LORA","r":2,"lora_alpha":8}`))
	cfg, _ := model.Preset("tiny3")
	host := model.InitWeights(cfg, 1)
	f.Fuzz(func(t *testing.T, data, config []byte) {
		a, err := checkpoint.ParseAdapters("a.safetensors", data, config)
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
	})
}

// ExampleParseAdapters reads adapters a page received beside a model.
func ExampleParseAdapters() {
	a, err := checkpoint.ParseAdapters("adapter_model.safetensors", adapterSeed(nil, false), []byte(`{"peft_type":"LORA","r":2,"lora_alpha":8}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Rank, a.Alpha, len(a.Tensors))
	// Output: 2 8 2
}
