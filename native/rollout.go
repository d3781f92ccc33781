package native

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minimind-go/minimind/model"
)

// RolloutOptions are MiniMind's rollout settings (rollout_engine.py):
// temperature 0.8 with generate's top-k 50 and top-p 0.85, no repetition
// penalty.
type RolloutOptions struct {
	G         int // completions per prompt (num_generations)
	MaxTokens int // max_gen_len
	Sample    model.SampleOptions
	Seed      uint64
}

// DefaultSample is MiniMind's rollout sampling.
func DefaultSample() model.SampleOptions {
	return model.SampleOptions{Temperature: 0.8, TopK: 50, TopP: 0.85, RepetitionPenalty: 1}
}

// RolloutTiming counts generated tokens and the time they took.
type RolloutTiming struct {
	Tokens   int
	Duration time.Duration
}

// TokensPerSecond is the generation speed.
func (t RolloutTiming) TokensPerSecond() float64 {
	if t.Duration <= 0 {
		return 0
	}
	return float64(t.Tokens) / t.Duration.Seconds()
}

// GenerateGroup samples opt.G completions of prompt together: one prefill
// of the prompt in G rows, then one batched decode step per position over a
// KV cache of G rows, each row with its own sampler (seeded by Seed and
// the row). A completion ends after the model's eos, which it keeps; the
// others run to MaxTokens.
func GenerateGroup(ctx context.Context, m *model.Model, prompt []int32, opt RolloutOptions) ([][]int32, RolloutTiming, error) {
	start := time.Now()
	G := opt.G
	if G < 1 || opt.MaxTokens < 1 || len(prompt) == 0 {
		return nil, RolloutTiming{}, errors.New("native: rollout needs a prompt, G ≥ 1 and max tokens ≥ 1")
	}
	eos := m.Config.EOS
	capacity := len(prompt) + opt.MaxTokens
	cache := m.NewCache(G, capacity)
	defer cache.Free(m.Engine)
	ids := make([]int32, 0, G*len(prompt)) // [G, P]
	for range G {
		ids = append(ids, prompt...)
	}
	samplers := make([]*model.Sampler, G)
	hist := make([][]int32, G)
	for g := range G {
		samplers[g] = model.NewSampler(opt.Sample, opt.Seed*1_000_003+uint64(g))
		hist[g] = append([]int32(nil), prompt...)
	}
	out := make([][]int32, G)
	done := make([]bool, G)
	V := m.Config.Vocab
	tokens := 0
	for step := 0; step < opt.MaxTokens; step++ {
		if err := ctx.Err(); err != nil {
			return out, RolloutTiming{}, err
		}
		logits, err := m.Forward(ids, G, model.ForwardOptions{Cache: cache, LastOnly: true})
		if err != nil {
			return out, RolloutTiming{}, fmt.Errorf("native: rollout: %w", err)
		}
		l := m.Engine.Read(logits) // [G, V]
		m.Engine.Free(logits)
		next := make([]int32, G)
		all := true
		for g := range G {
			if done[g] {
				next[g] = eos // finished rows keep emitting eos, as MiniMind's generate
				continue
			}
			id := samplers[g].Sample(l[g*V:(g+1)*V], hist[g])
			out[g] = append(out[g], id)
			hist[g] = append(hist[g], id)
			tokens++
			next[g] = id
			if id == eos {
				done[g] = true
			}
			all = all && done[g]
		}
		if all {
			break
		}
		ids = next
	}
	return out, RolloutTiming{Tokens: tokens, Duration: time.Since(start)}, nil
}
