package model_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
)

// TestTraceDetail checks the explanation steps against the steps they
// explain: recomputing each from its neighbours must give what the engine
// recorded, and turning Detail on must not change the logits.
func TestTraceDetail(t *testing.T) {
	for _, preset := range []string{"tiny", "tiny3", "tiny-moe", "tiny3-moe"} {
		t.Run(preset, func(t *testing.T) {
			m := tinyModel(t, preset, 3)
			c := m.Config
			ids := []int32{5, 9, 2, 7}
			T, D, H, KVH, hd := len(ids), c.Hidden, c.Heads, c.KVHeads, c.HeadDim

			plain := &model.Trace{}
			_, err := m.Forward(ids, 1, model.ForwardOptions{Trace: plain})
			require.NoError(t, err)
			tr := &model.Trace{Detail: true}
			_, err = m.Forward(ids, 1, model.ForwardOptions{Trace: tr})
			require.NoError(t, err)

			// The plain steps are all there, in the same order and equal.
			var common []string
			for _, n := range tr.Names() {
				if plain.Step(n) != nil {
					common = append(common, n)
				}
			}
			require.Equal(t, plain.Names(), common)
			for _, n := range common {
				require.Equal(t, plain.Step(n).Data, tr.Step(n).Data, n)
			}

			step := func(name string) *model.TraceStep {
				s := tr.Step(name)
				require.NotNil(t, s, "missing step %s in %v", name, tr.Names())
				return s
			}
			assert.Equal(t, []float32{5, 9, 2, 7}, step("tokens").Data)
			for li := range c.Layers {
				p := func(s string) string { return "layers." + string(rune('0'+li)) + "." + s }
				// input_rms: 1/rms of the residual entering the layer.
				x := step("embed").Data
				if li > 0 {
					x = step("layers." + string(rune('0'+li-1)) + ".resid_out").Data
				}
				rms := step(p("input_rms")).Data
				for i := range T {
					var ss float64
					for _, v := range x[i*D : (i+1)*D] {
						ss += float64(v) * float64(v)
					}
					assert.InDelta(t, 1/math.Sqrt(ss/float64(D)+c.NormEps), rms[i], 1e-4*float64(rms[i]))
				}
				// input_norm = x · r ⊙ g.
				g, h1 := step(p("input_norm_weight")).Data, step(p("input_norm")).Data
				require.Len(t, g, D)
				for i := range T {
					for j := range D {
						assert.InDelta(t, x[i*D+j]*rms[i]*g[j], h1[i*D+j], 1e-4*(1+math.Abs(float64(h1[i*D+j]))))
					}
				}
				step(p("post_norm_weight"))
				// RoPE of q_proj (or q_norm) is q: rotate_half with the model's tables.
				pre := p("q_proj")
				if c.QKNorm() {
					pre = p("q_norm")
					step(p("k_norm"))
				} else {
					assert.Nil(t, tr.Step(p("q_norm")))
				}
				cos, sin := c.RopeTables(T)
				qPre, q := step(pre).Data, step(p("q")).Data
				half := hd / 2
				for tt := range T {
					for h := range H {
						for i := range half {
							o := (tt*H + h) * hd
							a, b := qPre[o+i], qPre[o+i+half]
							cs, sn := cos[tt*half+i], sin[tt*half+i]
							assert.InDelta(t, a*cs-b*sn, q[o+i], 1e-4)
							assert.InDelta(t, b*cs+a*sn, q[o+i+half], 1e-4)
						}
					}
				}
				assert.Equal(t, []int{T, KVH, hd}, step(p("k_proj")).Shape)
				// attn_ctx = Σ_s probs[h, t, s] · v[s, h/(H/KVH)].
				probs, v, ctx := step(p("attn_probs")).Data, step(p("v")).Data, step(p("attn_ctx")).Data
				for h := range H {
					kv := h / (H / KVH)
					for tt := range T {
						for d := range hd {
							var sum float64
							for s := range T {
								sum += float64(probs[(h*T+tt)*T+s]) * float64(v[(s*KVH+kv)*hd+d])
							}
							assert.InDelta(t, sum, ctx[(tt*H+h)*hd+d], 1e-4)
						}
					}
				}
				step(p("post_rms"))
				ffn := step(p("ffn_out")).Data
				if !c.UseMoE {
					gate, silu, up, act := step(p("gate")).Data, step(p("silu")).Data, step(p("up")).Data, step(p("act")).Data
					require.Len(t, gate, T*c.FFN)
					for i := range gate {
						g := float64(gate[i])
						assert.InDelta(t, g/(1+math.Exp(-g)), silu[i], 1e-5)
						assert.InDelta(t, float64(silu[i])*float64(up[i]), act[i], 1e-4*(1+math.Abs(float64(act[i]))))
					}
					continue
				}
				ex, w := step(p("router_experts")), step(p("router_weights"))
				require.Equal(t, []int{T, c.TopK}, ex.Shape)
				router := step(p("router")).Data
				for tt := range T {
					best := slices.Index(router[tt*c.Experts:(tt+1)*c.Experts], slices.Max(router[tt*c.Experts:(tt+1)*c.Experts]))
					assert.Equal(t, float32(best), ex.Data[tt*c.TopK], "token %d's first expert", tt)
					assert.Greater(t, w.Data[tt*c.TopK], float32(0))
				}
				routed := step(p("moe_routed")).Data
				shared := tr.Step(p("shared_out"))
				for i := range ffn {
					want := routed[i]
					if shared != nil {
						want += shared.Data[i]
					}
					assert.InDelta(t, want, ffn[i], 1e-4*(1+math.Abs(float64(ffn[i]))))
				}
			}
			probs := step("probs")
			for r := range T {
				var sum float64
				for _, v := range probs.Data[r*c.Vocab : (r+1)*c.Vocab] {
					sum += float64(v)
				}
				assert.InDelta(t, 1, sum, 1e-5)
			}
		})
	}
}

// TestTraceDecode traces a decode step over a KV cache with a name prefix:
// the cache grows by one row per token and holds the prefill's keys.
func TestTraceDecode(t *testing.T) {
	m := tinyModel(t, "tiny", 4)
	c := m.Config
	ids := []int32{3, 1, 4, 1}
	cache := m.NewCache(1, len(ids)+1)
	defer cache.Free(m.Engine)
	pre := &model.Trace{Detail: true}
	l, err := m.Forward(ids, 1, model.ForwardOptions{Cache: cache, Trace: pre})
	require.NoError(t, err)
	m.Engine.Free(l)
	next := &model.Trace{Detail: true, Prefix: "next."}
	l, err = m.Forward([]int32{5}, 1, model.ForwardOptions{Cache: cache, Trace: next})
	require.NoError(t, err)
	m.Engine.Free(l)
	for _, n := range next.Names() {
		require.True(t, strings.HasPrefix(n, "next."), n)
	}
	kc0, kc1 := pre.Step("layers.0.k_cache"), next.Step("next.layers.0.k_cache")
	require.NotNil(t, kc0)
	require.NotNil(t, kc1)
	row := c.KVHeads * c.HeadDim
	assert.Equal(t, []int{4, c.KVHeads, c.HeadDim}, kc0.Shape)
	assert.Equal(t, []int{5, c.KVHeads, c.HeadDim}, kc1.Shape)
	assert.Equal(t, kc0.Data, kc1.Data[:4*row], "the cached rows are reused as they are")
	assert.Equal(t, next.Step("next.layers.0.k").Data, kc1.Data[4*row:], "the new row is the new token's key")
	assert.Equal(t, []int{c.Heads, 1, 5}, next.Step("next.layers.0.attn_probs").Shape)
}
