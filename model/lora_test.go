package model_test

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// randomAdapters attaches adapters to m and fills B with values too (B = 0
// at initialisation would make every check below trivial).
func randomAdapters(t *testing.T, m *model.Model, o model.LoRAOptions) *model.LoRA {
	t.Helper()
	l, err := model.AttachLoRA(m, o)
	require.NoError(t, err)
	for i, a := range l.Adapters {
		b := make([]float32, a.Out*l.Rank)
		for j := range b {
			b[j] = float32(math.Sin(float64(7*i+j))) * 0.05
		}
		m.Engine.Free(a.B)
		a.B = m.Engine.Upload(b)
	}
	return l
}

func TestLoRASelection(t *testing.T) {
	for _, tc := range []struct {
		preset  string
		targets []string
		want    []string
		count   int
	}{
		// MiniMind: only square layers. tiny3: hidden 64 = 4 heads × 16.
		{"tiny3", nil, []string{"o_proj", "q_proj"}, 4},
		{"tiny3-moe", nil, []string{"o_proj", "q_proj"}, 4},
		{"tiny", []string{"q_proj", "v_proj", "down_proj"}, []string{"down_proj", "q_proj", "v_proj"}, 6},
		// MoE: gate/up/down of every expert.
		{"tiny3-moe", []string{"gate_proj"}, []string{"gate_proj"}, 8},
	} {
		t.Run(tc.preset+strings.Join(tc.targets, ","), func(t *testing.T) {
			cfg, err := model.Preset(tc.preset)
			require.NoError(t, err)
			m, err := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 1))
			require.NoError(t, err)
			l, err := model.AttachLoRA(m, model.LoRAOptions{Rank: 16, Targets: tc.targets})
			require.NoError(t, err)
			require.Equal(t, tc.want, l.Targets())
			require.Len(t, l.Adapters, tc.count)
		})
	}
	cfg, _ := model.Preset("tiny")
	m, _ := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 1))
	_, err := model.AttachLoRA(m, model.LoRAOptions{Rank: 4, Targets: []string{"qproj"}})
	require.ErrorContains(t, err, `unknown LoRA target "qproj"`)
}

// TestLoRAMerge checks that merging gives exactly W + B·A and that the
// merged model's logits equal those of the base model with the adapters.
func TestLoRAMerge(t *testing.T) {
	for _, tc := range []struct {
		preset string
		alpha  float64
	}{{"tiny3", 0}, {"tiny3-moe", 0}, {"tiny", 32}} {
		t.Run(tc.preset, func(t *testing.T) {
			cfg, err := model.Preset(tc.preset)
			require.NoError(t, err)
			host := model.InitWeights(cfg, 3)
			m, err := model.New(cfg, cpu.New(1), host)
			require.NoError(t, err)
			l := randomAdapters(t, m, model.LoRAOptions{Rank: 8, Alpha: tc.alpha, Targets: model.LoRATargets, Seed: 5})
			ad := l.HostTensors(m.Engine)
			merged, err := model.MergeLoRA(cfg, host, ad, l.Rank, l.Scale)
			require.NoError(t, err)

			// W + s·B·A, element by element.
			mp := cfg.Params(merged)
			changed := 0
			for i, p := range cfg.Params(host) {
				base := (*p.Ptr).(*model.Host).Data
				got := (*mp[i].Ptr).(*model.Host).Data
				mod := strings.TrimSuffix(p.Name, ".weight")
				a, ok := ad[mod+".lora.A.weight"]
				if !ok {
					require.Equal(t, base, got, p.Name)
					continue
				}
				b := ad[mod+".lora.B.weight"]
				rows, cols := p.Shape[0], p.Shape[1]
				for r := range rows {
					for c := range cols {
						var s float64
						for q := range l.Rank {
							s += float64(b[r*l.Rank+q]) * float64(a[q*cols+c])
						}
						require.Equal(t, base[r*cols+c]+float32(float64(l.Scale)*s), got[r*cols+c], "%s[%d,%d]", p.Name, r, c)
					}
				}
				changed++
			}
			require.Equal(t, len(l.Adapters), changed)

			ids := []int32{1, 20, 33, 400, 5, 6000, 7, 2}
			la, err := m.Forward(ids, 2, model.ForwardOptions{})
			require.NoError(t, err)
			withAdapters := m.Engine.Read(la)
			mm, err := model.New(cfg, cpu.New(1), merged)
			require.NoError(t, err)
			lm, err := mm.Forward(ids, 2, model.ForwardOptions{})
			require.NoError(t, err)
			mergedLogits := mm.Engine.Read(lm)
			bm, _ := model.New(cfg, cpu.New(1), host)
			lb, _ := bm.Forward(ids, 2, model.ForwardOptions{})
			baseLogits := bm.Engine.Read(lb)
			var diff, effect float64
			for i := range mergedLogits {
				diff = max(diff, math.Abs(float64(mergedLogits[i]-withAdapters[i])))
				effect = max(effect, math.Abs(float64(baseLogits[i]-withAdapters[i])))
			}
			t.Logf("max |merged − base+adapters| = %.3g; the adapters move logits by up to %.3g", diff, effect)
			require.Greater(t, effect, 1e-2)
			require.Less(t, diff, 1e-4)
		})
	}
}

// TestAdapterFiles writes adapters in the three formats and reads each back.
func TestAdapterFiles(t *testing.T) {
	cfg, _ := model.Preset("tiny3")
	m, err := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 3))
	require.NoError(t, err)
	l := randomAdapters(t, m, model.LoRAOptions{Rank: 4, Alpha: 8, Seed: 1})
	a := &checkpoint.Adapters{Rank: l.Rank, Alpha: l.Alpha, Tensors: l.HostTensors(m.Engine), Shapes: map[string][]int{}}
	for _, p := range l.Params() {
		a.Shapes[p.Name] = p.Shape
	}
	base := filepath.Join(t.TempDir(), "lora_identity_64")
	require.NoError(t, checkpoint.SaveAdapters(base, a))
	for _, tc := range []struct {
		path  string
		exact bool
	}{{base + ".safetensors", true}, {base + "_peft", true}, {base + ".pth", false}} {
		t.Run(filepath.Ext(tc.path)+filepath.Base(tc.path), func(t *testing.T) {
			got, err := checkpoint.LoadAdapters(tc.path)
			require.NoError(t, err)
			require.Equal(t, 4, got.Rank)
			require.Equal(t, a.Shapes, got.Shapes)
			if tc.exact {
				require.Equal(t, 8.0, got.Alpha)
				require.Equal(t, a.Tensors, got.Tensors)
				return
			}
			for n, v := range a.Tensors { // MiniMind's .pth is fp16
				for i := range v {
					require.InDelta(t, v[i], got.Tensors[n][i], 1e-3*math.Abs(float64(v[i]))+1e-7, n)
				}
			}
			m2, _ := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 3))
			l2, err := model.LoadLoRA(m2, got.Tensors, got.Shapes, model.LoRAOptions{Alpha: got.Alpha})
			require.NoError(t, err)
			require.Equal(t, slices.Collect(func(yield func(string) bool) {
				for _, a := range l.Adapters {
					yield(a.Name)
				}
			}), slices.Collect(func(yield func(string) bool) {
				for _, a := range l2.Adapters {
					yield(a.Name)
				}
			}))
		})
	}
	_, err = checkpoint.LoadAdapters(filepath.Join(t.TempDir(), "missing.safetensors"))
	require.Error(t, err)
}
