package cpu_test

import (
	"math/rand/v2"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

func benchModel(b *testing.B, preset string, threads int) *model.Model {
	b.Helper()
	c, err := model.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.New(c, cpu.New(threads), model.InitWeights(c, 1))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDecode measures single-token decode over a KV cache holding 128
// tokens, for minimind2-small (reports tokens/s).
func BenchmarkDecode(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(map[int]string{1: "threads=1", 2: "threads=2"}[th], func(b *testing.B) {
			m := benchModel(b, "minimind2-small", th)
			prompt := make([]int32, 128)
			for i := range prompt {
				prompt[i] = int32(i*37%6000 + 3)
			}
			cache := m.NewCache(1, 128+b.N+1)
			l, err := m.Forward(prompt, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			m.Engine.Free(l)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				l, err := m.Forward([]int32{int32(i%6000 + 3)}, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				m.Engine.Read(l)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkPrefill measures a 256-token prompt pass for minimind2-small.
func BenchmarkPrefill(b *testing.B) {
	m := benchModel(b, "minimind2-small", 0)
	prompt := make([]int32, 256)
	for i := range prompt {
		prompt[i] = int32(i*37%6000 + 3)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := m.Forward(prompt, 1, model.ForwardOptions{LastOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		m.Engine.Read(l)
	}
	b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkTrainStep measures forward+backward of minimind2-small on a
// batch of 4 × 256 tokens (reports tokens/s).
func BenchmarkTrainStep(b *testing.B) {
	m := benchModel(b, "minimind2-small", 0)
	const B, T = 4, 256
	batch := model.Batch{B: B, T: T, Input: make([]int32, B*T), Labels: make([]int32, B*T)}
	for i := range batch.Input {
		batch.Input[i] = int32(i*37%6000 + 3)
		batch.Labels[i] = batch.Input[i]
	}
	g := m.NewGrads()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.LossAndGrad(batch, g, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*B*T)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkAttentionDecode is one decode step's attention in one layer of
// minimind2-small (8 query heads sharing 2 KV heads, head size 64) over a
// 128-token cache.
func BenchmarkAttentionDecode(b *testing.B) {
	const H, KVH, hd, S = 8, 2, 64, 256
	e := cpu.New(1)
	r := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) model.Tensor {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
		return e.Upload(d)
	}
	q, k, v, out := fill(H*hd), fill(S*KVH*hd), fill(S*KVH*hd), e.Alloc(H*hd)
	args := model.AttnArgs{B: 1, T: 1, Heads: H, KVHeads: KVH, HeadDim: hd, S: S, Pos0: 127, Scale: 0.125}
	for range b.N {
		e.Attention(out, q, k, v, args)
	}
}
