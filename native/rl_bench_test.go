package native

import (
	"context"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// BenchmarkRollout compares the batched group rollout (G = 6 rows over one
// KV cache) with six single-sequence KV-cache decodes of the same prompt:
// 32 prompt tokens, 64 new tokens each, greedy (eos never stops a row).
func BenchmarkRollout(b *testing.B) {
	for _, preset := range []string{"zero", "minimind2-small"} {
		c := model.Presets()[preset]
		c.EOS = -1 // run every row to 64 tokens
		m, err := model.New(c, cpu.New(0), model.InitWeights(c, 1))
		if err != nil {
			b.Fatal(err)
		}
		prompt := make([]int32, 32)
		for i := range prompt {
			prompt[i] = int32(10 + i)
		}
		const G, N = 6, 64
		b.Run(preset+"/batched", func(b *testing.B) {
			for range b.N {
				if _, _, err := GenerateGroup(context.Background(), m, prompt, RolloutOptions{G: G, MaxTokens: N}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(G*N*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run(preset+"/sequential", func(b *testing.B) {
			for range b.N {
				for range G {
					if _, err := m.Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: N, StopTokens: []int32{-1}}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(G*N*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkRLUpdate times one CISPO update (policy forward and backward
// plus the rollout policy's and the reference's forwards) on 2 prompts × 6
// completions of 32 + 64 tokens, against one cross-entropy training step
// on the same rows.
func BenchmarkRLUpdate(b *testing.B) {
	for _, preset := range []string{"zero", "minimind2-small"} {
		c := model.Presets()[preset]
		var rs []Rollout
		for i := range 12 {
			p := make([]int32, 32)
			comp := make([]int32, 64)
			for j := range p {
				p[j] = int32(10 + j + i/6)
			}
			for j := range comp {
				comp[j] = int32(100 + (i*7+j*13)%3000)
			}
			rs = append(rs, Rollout{Prompt: p, Completion: comp, Reward: float64(i % 3)})
		}
		rows, _ := CompletionRows(rs, 0, 2)
		tokens := float64(rows.B * rows.T)
		newRun := func() (*Trainer, *model.Model) {
			m, err := model.New(c, cpu.New(0), model.InitWeights(c, 1))
			if err != nil {
				b.Fatal(err)
			}
			ref, err := model.New(c, cpu.New(0), model.InitWeights(c, 1))
			if err != nil {
				b.Fatal(err)
			}
			tr, err := NewTrainer(m, DefaultOptim())
			if err != nil {
				b.Fatal(err)
			}
			return tr, ref
		}
		b.Run(preset+"/cispo", func(b *testing.B) {
			tr, ref := newRun()
			u := &GroupUpdate{Policy: tr, Ref: ref, G: 6, Sched: RLSchedule{LR: 1e-6, TMax: 10}, Loss: PolicyLoss{Kind: CISPO, Beta: 0.1, Eps: 0.2, EpsHigh: 5}}
			b.ResetTimer()
			for range b.N {
				if _, err := u.Step(rs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(tokens*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
		b.Run(preset+"/cross-entropy", func(b *testing.B) {
			tr, _ := newRun()
			batch := rows.Batch()
			copy(batch.Labels, batch.Input)
			b.ResetTimer()
			for range b.N {
				if _, err := tr.MicroStep(batch, 1e-6); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(tokens*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
