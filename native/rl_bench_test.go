package native

import (
	"context"
	"fmt"
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

// BenchmarkRolloutPrompts compares a GRPO step's rollouts at MiniMind's
// defaults (batch_size 2 prompts × num_generations 6) and at 4 prompts:
// all prompts × G sequences decoding together (GenerateGroups: one
// ForwardStep per token, per-sequence positions) against the per-prompt
// batching (perPromptGroup: one prompt's G rows over a G-row KV cache, the
// prompts one after another). Prompts of 24 + 8p tokens, 64 new tokens
// each, eos never stops a row; greedy (the model's cost) and MiniMind's
// sampling (temperature 0.8, top-k 50, top-p 0.85: adds the samplers' cost,
// the same in both).
func BenchmarkRolloutPrompts(b *testing.B) {
	for _, preset := range []string{"zero", "minimind2-small"} {
		c := model.Presets()[preset]
		c.EOS = -1 // run every row to 64 tokens
		m, err := model.New(c, cpu.New(0), model.InitWeights(c, 1))
		if err != nil {
			b.Fatal(err)
		}
		const G, N = 6, 64
		for _, P := range []int{2, 4} {
			prompts := make([][]int32, P)
			for p := range prompts {
				for i := range 24 + 8*p {
					prompts[p] = append(prompts[p], int32(10+i+p))
				}
			}
			for _, mode := range []string{"greedy", "sampled"} {
				opt := RolloutOptions{G: G, MaxTokens: N, Seed: 1}
				if mode == "sampled" {
					opt.Sample = DefaultSample()
				}
				b.Run(fmt.Sprintf("%s/P%d/%s/across-prompts", preset, P, mode), func(b *testing.B) {
					for range b.N {
						if _, _, err := GenerateGroups(context.Background(), m, prompts, opt); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(P*G*N*b.N)/b.Elapsed().Seconds(), "tokens/s")
				})
				b.Run(fmt.Sprintf("%s/P%d/%s/per-prompt", preset, P, mode), func(b *testing.B) {
					for range b.N {
						for p := range prompts {
							o := opt
							o.Seed += uint64(p)
							if _, _, err := perPromptGroup(context.Background(), m, prompts[p], o); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(P*G*N*b.N)/b.Elapsed().Seconds(), "tokens/s")
				})
			}
		}
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
