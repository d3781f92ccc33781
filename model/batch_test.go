package model_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestForwardStepBatchInvariant decodes 16 sequences of different lengths
// together with ForwardStep and checks every row of every step against
// Forward on that sequence alone: the logits must be bit for bit equal, with
// sequences leaving the batch along the way. The presets cover the dense
// MiniMind2 and MiniMind3 (q/k-norm) layouts, an MoE model (sequence by
// sequence) and minimind2-small, whose products are large enough to be
// split between threads.
func TestForwardStepBatchInvariant(t *testing.T) {
	type tc struct {
		preset string
		dtype  cpu.DType
	}
	var cases []tc
	for _, p := range []string{"tiny", "tiny3", "tiny-moe", "minimind2-small"} {
		cases = append(cases, tc{p, "f32"})
	}
	for _, d := range []cpu.DType{"f16", "q8_0", "q4_0"} { // quantized CPU weights (mmchat --dtype)
		cases = append(cases, tc{"tiny3", d}, tc{"minimind2-small", d})
	}
	for _, tc := range cases {
		preset := tc.preset
		t.Run(preset+"/"+string(tc.dtype), func(t *testing.T) {
			m := tinyModel(t, preset, 7)
			require.NoError(t, cpu.QuantizeWeights(m, tc.dtype))
			const seqs, steps = 16, 5
			batch := make([]*model.KVCache, seqs)
			alone := make([]*model.KVCache, seqs)
			next := make([]int32, seqs)
			for i := range seqs {
				prompt := make([]int32, 1+3*i) // different lengths, so different positions
				for j := range prompt {
					prompt[j] = int32(100 + 37*i + 11*j)
				}
				for _, c := range []**model.KVCache{&batch[i], &alone[i]} {
					*c = m.NewCache(1, len(prompt)+steps)
					l, err := m.Forward(prompt, 1, model.ForwardOptions{Cache: *c, LastOnly: true})
					require.NoError(t, err)
					next[i] = argmax(m.Engine.Read(l))
				}
			}
			live := make([]int, seqs)
			for i := range live {
				live[i] = i
			}
			for step := range steps {
				ids := make([]int32, len(live))
				caches := make([]*model.KVCache, len(live))
				for r, i := range live {
					ids[r], caches[r] = next[i], batch[i]
				}
				lt, err := m.ForwardStep(ids, caches)
				require.NoError(t, err)
				got := m.Engine.Read(lt) // [len(live), V]
				V := m.Config.Vocab
				for r, i := range live {
					lw, err := m.Forward(ids[r:r+1], 1, model.ForwardOptions{Cache: alone[i], LastOnly: true})
					require.NoError(t, err)
					require.Equal(t, m.Engine.Read(lw), got[r*V:(r+1)*V], "step %d, sequence %d among %d", step, i, len(live))
					next[i] = argmax(got[r*V : (r+1)*V])
				}
				live = live[:len(live)-3] // the last ones finish
			}
		})
	}
}

func TestForwardStepErrors(t *testing.T) {
	m := tinyModel(t, "tiny", 1)
	full := m.NewCache(1, 1)
	_, err := m.Forward([]int32{5}, 1, model.ForwardOptions{Cache: full})
	require.NoError(t, err)
	ok := m.NewCache(1, 4)
	for _, tc := range []struct {
		name   string
		ids    []int32
		caches []*model.KVCache
		want   string
	}{
		{"empty", nil, nil, "one cache per token"},
		{"mismatch", []int32{1, 2}, []*model.KVCache{ok}, "one cache per token"},
		{"shared", []int32{1, 2}, []*model.KVCache{ok, ok}, "shares its cache"},
		{"multi", []int32{1}, []*model.KVCache{m.NewCache(2, 4)}, "single-sequence cache"},
		{"vocab", []int32{99999}, []*model.KVCache{ok}, "outside the vocabulary"},
		{"full", []int32{1}, []*model.KVCache{full}, "context is full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.ForwardStep(tc.ids, tc.caches)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// ExampleModel_ForwardStep decodes two sequences of different lengths in one
// batched step, each at its own position in its own cache.
func ExampleModel_ForwardStep() {
	cfg, _ := model.Preset("tiny")
	m, _ := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 42))
	a, b := m.NewCache(1, 16), m.NewCache(1, 16)
	m.Forward([]int32{1, 300, 301}, 1, model.ForwardOptions{Cache: a, LastOnly: true})
	m.Forward([]int32{1, 400}, 1, model.ForwardOptions{Cache: b, LastOnly: true})
	logits, err := m.ForwardStep([]int32{302, 401}, []*model.KVCache{a, b}) // [2, V]
	fmt.Println(logits.Len()/cfg.Vocab, a.Len, b.Len, err)
	// Output: 2 4 3 <nil>
}
