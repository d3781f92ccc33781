package cpu_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/gemm"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// zeroModel loads the embedded MiniMind-Zero model (trained, so its greedy
// continuations are meaningful) with its tokenizer.
func zeroModel(t *testing.T) (model.Config, *model.Weights, *tokenizer.Tokenizer) {
	t.Helper()
	fsys, err := zoo.Default()
	require.NoError(t, err)
	c, w, err := checkpoint.LoadFS(fsys, "")
	require.NoError(t, err)
	tok, err := tokenizer.LoadFS(fsys, ".")
	require.NoError(t, err)
	return c, w, tok
}

func newModel(t *testing.T, c model.Config, w *model.Weights, dtype cpu.DType) *model.Model {
	t.Helper()
	return newModelThreads(t, c, w, dtype, 1)
}

func newModelThreads(t *testing.T, c model.Config, w *model.Weights, dtype cpu.DType, threads int) *model.Model {
	t.Helper()
	m, err := model.New(c, cpu.New(threads), w)
	require.NoError(t, err)
	require.NoError(t, cpu.QuantizeWeights(m, dtype))
	return m
}

// relL2 is ‖a−b‖₂ / ‖a‖₂.
func relL2(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d += float64(a[i]-b[i]) * float64(a[i]-b[i])
		s += float64(a[i]) * float64(a[i])
	}
	return math.Sqrt(d / s)
}

// relErr is max|a−b| / max|a|.
func relErr(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		s = math.Max(s, math.Abs(float64(a[i])))
	}
	return d / s
}

// TestQuantizedLogits compares the logits of a prompt (batched prefill, and
// the last step of a KV-cache decode) with quantized weights against f32:
// q8_0 within 1e-2 relative (max|Δ| / max|logit|), f16 within 2e-3, q4_0
// (a lossy 4.5-bit format) within 2e-1.
func TestQuantizedLogits(t *testing.T) {
	zc, zw, tok := zeroModel(t)
	type src struct {
		name string
		c    model.Config
		w    *model.Weights
		ids  []int32
	}
	srcs := []src{{"zero", zc, zw, tok.Encode("<|im_start|>user\nWhat does \"water\" mean?<|im_end|>\n<|im_start|>assistant\n")}}
	for _, p := range []string{"tiny", "tiny3", "tiny3-moe", "tiny-moe"} {
		c, err := model.Preset(p)
		require.NoError(t, err)
		srcs = append(srcs, src{p, c, model.InitWeights(c, 4), []int32{5, 900, 17, 4000, 33, 2, 1, 6000, 77, 12}})
	}
	for _, s := range srcs {
		ref := newModel(t, s.c, s.w, "f32")
		want, err := ref.Forward(s.ids, 1, model.ForwardOptions{})
		require.NoError(t, err)
		for _, tc := range []struct {
			dtype cpu.DType
			tol   float64
		}{{"f16", 2e-3}, {"q8_0", 1e-2}, {"q4_0", 2e-1}} {
			t.Run(s.name+"/"+string(tc.dtype), func(t *testing.T) {
				m := newModel(t, s.c, s.w, tc.dtype)
				_, quantized := m.W.Layers[0].Q.(*gemm.QMatrix)
				assert.True(t, quantized, "q_proj is quantized")
				got, err := m.Forward(s.ids, 1, model.ForwardOptions{})
				require.NoError(t, err)
				e := relErr(want.(*model.Host).Data, got.(*model.Host).Data)
				t.Logf("prefill logits: max relative error %.2e, L2 relative %.2e", e, relL2(want.(*model.Host).Data, got.(*model.Host).Data))
				assert.LessOrEqual(t, e, tc.tol)
				// Decode: the last token through the KV cache.
				kc := m.NewCache(1, len(s.ids))
				_, err = m.Forward(s.ids[:len(s.ids)-1], 1, model.ForwardOptions{Cache: kc})
				require.NoError(t, err)
				last, err := m.Forward(s.ids[len(s.ids)-1:], 1, model.ForwardOptions{Cache: kc})
				require.NoError(t, err)
				V := s.c.Vocab
				wl := want.(*model.Host).Data[(len(s.ids)-1)*V:]
				de := relErr(wl, last.(*model.Host).Data)
				t.Logf("decode step logits: max relative error %.2e", de)
				assert.LessOrEqual(t, de, tc.tol)
			})
		}
	}
}

// TestF16GreedyIdentical checks that f16 weights generate the same greedy
// tokens as f32 on the Zero model's test prompts (64 tokens each). The
// embedded weights are stored in f16, so each is first moved off the f16
// grid by a random relative 1e-3, which f16 then rounds away.
func TestF16GreedyIdentical(t *testing.T) {
	c, w, tok := zeroModel(t)
	r := rand.New(rand.NewPCG(1, 1))
	offGrid := 0
	for _, p := range c.Params(w) {
		for i, v := range (*p.Ptr).(*model.Host).Data {
			nv := v * float32(1+1e-3*r.NormFloat64())
			if nv != v {
				offGrid++
			}
			(*p.Ptr).(*model.Host).Data[i] = nv
		}
	}
	require.Greater(t, offGrid, c.ParamCount()/2)
	f32 := newModel(t, c, w, "f32")
	f16 := newModel(t, c, w, "f16")
	q8 := newModel(t, c, w, "q8_0")
	same8 := 0
	prompts := []string{"Who are you?", "你是谁？", `What does "water" mean?`, "What is a house?", `Define "friend".`,
		`What is the opposite of "good"?`, `Give me a synonym for "big".`, `Use the word "light" in a sentence.`}
	for _, p := range prompts {
		text, err := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: p}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
		require.NoError(t, err)
		ids := tok.Encode(text)
		opt := model.GenerateOptions{MaxTokens: 64, StopTokens: []int32{-1}}
		a, err := f32.Generate(context.Background(), ids, opt)
		require.NoError(t, err)
		b, err := f16.Generate(context.Background(), ids, opt)
		require.NoError(t, err)
		assert.Equal(t, a, b, p)
		c8, err := q8.Generate(context.Background(), ids, opt)
		require.NoError(t, err)
		for i := range a {
			if a[i] != c8[i] {
				break
			}
			same8++
		}
	}
	t.Logf("q8_0: %d of %d greedy tokens equal f32 before the first difference", same8, 64*len(prompts))
}

func TestQuantizeF32IsNoOp(t *testing.T) {
	c, err := model.Preset("tiny")
	require.NoError(t, err)
	m := newModel(t, c, model.InitWeights(c, 1), "f32")
	_, isHost := m.W.Layers[0].Q.(*model.Host)
	assert.True(t, isHost)
	_, err = cpu.ParseDType("q5_k")
	assert.Error(t, err)
}

// TestMatMulThreadsIdentical checks that a one-token product split between
// the engine's threads (float32 and every quantized type) gives the
// one-thread result bit for bit.
func TestMatMulThreadsIdentical(t *testing.T) {
	c, err := model.Preset("minimind2-small")
	require.NoError(t, err)
	w := model.InitWeights(c, 3)
	for _, d := range []cpu.DType{"f32", "f16", "q8_0", "q4_0"} {
		var want []float32
		for _, threads := range []int{1, 2, 3} {
			m := newModelThreads(t, c, w, d, threads)
			kc := m.NewCache(1, 8)
			var got []float32
			for i, id := range []int32{5, 900, 17, 4000} {
				l, err := m.Forward([]int32{id}, 1, model.ForwardOptions{Cache: kc, LastOnly: true})
				require.NoError(t, err)
				if i == 3 {
					got = m.Engine.Read(l)
				}
			}
			if want == nil {
				want = got
				continue
			}
			require.Equal(t, want, got, "%s with %d threads", d, threads)
		}
	}
}
