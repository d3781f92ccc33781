package cpu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestDecodeStepAllocs checks that a decoding step on one thread reuses
// its buffers: Forward over a KV cache and ForwardStep allocate at most a
// handful of small objects per token (the step's positions and the like),
// not one per tensor or per matrix row — with float32 weights and with
// each quantized type.
func TestDecodeStepAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	type tc struct {
		preset string
		dtype  cpu.DType
	}
	cases := []tc{{"tiny", "f32"}, {"tiny3", "f32"}}
	for _, d := range []cpu.DType{"f32", "f16", "q8_0", "q4_0"} {
		cases = append(cases, tc{"minimind2-small", d})
	}
	for _, tc := range cases {
		t.Run(tc.preset+"/"+string(tc.dtype), func(t *testing.T) {
			c, err := model.Preset(tc.preset)
			require.NoError(t, err)
			m, err := model.New(c, cpu.New(1), model.InitWeights(c, 1))
			require.NoError(t, err)
			require.NoError(t, cpu.QuantizeWeights(m, tc.dtype))
			e := m.Engine
			const runs = 20
			prompt := []int32{5, 9, 13, 17, 21, 25, 29, 33}
			var l []float32 // [V]

			cache := m.NewCache(1, len(prompt)+2*runs+2)
			logits, err := m.Forward(prompt, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
			require.NoError(t, err)
			e.Free(logits)
			forward := testing.AllocsPerRun(runs, func() {
				logits, err := m.Forward([]int32{7}, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
				if err != nil {
					panic(err)
				}
				l = model.ReadTo(e, l, logits)
				e.Free(logits)
			})
			t.Logf("Forward: %.1f allocations per token", forward)
			require.LessOrEqual(t, forward, 2.0, "allocations of a Forward decoding step")

			caches := []*model.KVCache{m.NewCache(1, 2*runs+2), m.NewCache(1, 2*runs+2)}
			ids := []int32{3, 4}
			step := testing.AllocsPerRun(runs, func() {
				logits, err := m.ForwardStep(ids, caches)
				if err != nil {
					panic(err)
				}
				l = model.ReadTo(e, l, logits)
				e.Free(logits)
			})
			t.Logf("ForwardStep of 2 sequences: %.1f allocations per step", step)
			require.LessOrEqual(t, step, 4.0, "allocations of a ForwardStep")
		})
	}
}
