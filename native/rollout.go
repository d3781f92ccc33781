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
	// Seeds, when set (one per prompt), seed prompt p's rollouts by
	// Seeds[p] instead of Seed + p (GenerateGroups).
	Seeds []uint64
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

// GenerateGroup samples opt.G completions of prompt together: it is
// GenerateGroups with one prompt.
func GenerateGroup(ctx context.Context, m *model.Model, prompt []int32, opt RolloutOptions) ([][]int32, RolloutTiming, error) {
	outs, t, err := GenerateGroups(ctx, m, [][]int32{prompt}, opt)
	if len(outs) == 0 {
		return nil, t, err
	}
	return outs[0], t, err
}

// rowSeed is the sampler seed of completion g of the prompt whose rollouts
// are seeded by seed.
func rowSeed(seed uint64, g int) uint64 { return seed*1_000_003 + uint64(g) }

// GenerateGroups samples opt.G completions of every prompt, all
// len(prompts) × G sequences decoding together. Each prompt is prefilled
// once into its own KV cache, which is then copied to its G completions;
// from there every unfinished sequence feeds its last token at its own
// position in one batched model.ForwardStep per generated token. Prompt p's
// completion g samples with its own sampler seeded by (opt.Seed + p, or
// opt.Seeds[p]) and g,
// so it is bit for bit the single-sequence KV-cache decode of that prompt
// with that sampler, whatever the other prompts are (ForwardStep is batch
// invariant). A completion ends after the model's eos, which it keeps; the
// others run to MaxTokens. outs[p][g] is prompt p's completion g.
func GenerateGroups(ctx context.Context, m *model.Model, prompts [][]int32, opt RolloutOptions) ([][][]int32, RolloutTiming, error) {
	start := time.Now()
	G := opt.G
	if G < 1 || opt.MaxTokens < 1 || len(prompts) == 0 {
		return nil, RolloutTiming{}, errors.New("native: rollout needs a prompt, G ≥ 1 and max tokens ≥ 1")
	}
	for p, prompt := range prompts {
		if len(prompt) == 0 {
			return nil, RolloutTiming{}, fmt.Errorf("native: rollout prompt %d is empty", p)
		}
	}
	if opt.Seeds != nil && len(opt.Seeds) != len(prompts) {
		return nil, RolloutTiming{}, fmt.Errorf("native: rollout has %d seeds for %d prompts", len(opt.Seeds), len(prompts))
	}
	if _, ok := m.Engine.(model.RowEngine); !ok {
		return perPromptGroups(ctx, m, prompts, opt)
	}
	e, c := m.Engine, m.Config
	eos, V := c.EOS, c.Vocab
	row := c.KVHeads * c.HeadDim
	N := len(prompts) * G
	caches := make([]*model.KVCache, 0, N) // [P·G] sequence p·G+g
	defer func() {
		for _, kc := range caches {
			kc.Free(e)
		}
	}()
	samplers := make([]*model.Sampler, N)
	hist := make([][]int32, N) // prompt and completion so far, for the samplers
	outs := make([][][]int32, len(prompts))
	next := make([]int32, N) // [P·G] the token each sequence feeds next
	done := make([]bool, N)
	tokens := 0
	for p, prompt := range prompts {
		if err := ctx.Err(); err != nil {
			return nil, RolloutTiming{}, err
		}
		capacity := len(prompt) + opt.MaxTokens
		first := m.NewCache(1, capacity)
		caches = append(caches, first)
		logits, err := m.Forward(prompt, 1, model.ForwardOptions{Cache: first, LastOnly: true}) // [1, V]
		if err != nil {
			return nil, RolloutTiming{}, fmt.Errorf("native: rollout prompt %d: %w", p, err)
		}
		l := e.Read(logits) // [V]
		e.Free(logits)
		for g := 1; g < G; g++ { // share the prefill: copy the prompt's keys and values
			kc := m.NewCache(1, capacity)
			caches = append(caches, kc)
			for li := range first.K {
				e.Copy(kc.K[li], 0, first.K[li], 0, first.Len*row)
				e.Copy(kc.V[li], 0, first.V[li], 0, first.Len*row)
			}
			kc.Len = first.Len
		}
		outs[p] = make([][]int32, G)
		for g := range G {
			i := p*G + g
			seed := opt.Seed + uint64(p)
			if opt.Seeds != nil {
				seed = opt.Seeds[p]
			}
			samplers[i] = model.NewSampler(opt.Sample, rowSeed(seed, g))
			hist[i] = append([]int32(nil), prompt...)
			id := samplers[i].Sample(l, hist[i])
			outs[p][g] = append(outs[p][g], id)
			hist[i] = append(hist[i], id)
			next[i] = id
			done[i] = id == eos || opt.MaxTokens == 1
			tokens++
		}
	}
	active := make([]int, 0, N)                // sequences still decoding
	ids := make([]int32, 0, N)                 // [n] their next tokens
	stepCaches := make([]*model.KVCache, 0, N) // [n] their caches
	for {
		active, ids, stepCaches = active[:0], ids[:0], stepCaches[:0]
		for i := range N {
			if !done[i] {
				active = append(active, i)
				ids = append(ids, next[i])
				stepCaches = append(stepCaches, caches[i])
			}
		}
		if len(active) == 0 {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, RolloutTiming{}, err
		}
		logits, err := m.ForwardStep(ids, stepCaches) // [n, V]
		if err != nil {
			return nil, RolloutTiming{}, fmt.Errorf("native: rollout: %w", err)
		}
		l := e.Read(logits) // [n, V]
		e.Free(logits)
		for j, i := range active {
			id := samplers[i].Sample(l[j*V:(j+1)*V], hist[i])
			p, g := i/G, i%G
			outs[p][g] = append(outs[p][g], id)
			hist[i] = append(hist[i], id)
			next[i] = id
			done[i] = id == eos || len(outs[p][g]) == opt.MaxTokens
			tokens++
		}
	}
	return outs, RolloutTiming{Tokens: tokens, Duration: time.Since(start)}, nil
}

// perPromptGroups is GenerateGroups one prompt at a time (perPromptGroup).
func perPromptGroups(ctx context.Context, m *model.Model, prompts [][]int32, opt RolloutOptions) ([][][]int32, RolloutTiming, error) {
	start := time.Now()
	outs := make([][][]int32, len(prompts))
	tokens := 0
	for p, prompt := range prompts {
		o := opt
		o.Seed, o.Seeds = opt.Seed+uint64(p), nil
		if opt.Seeds != nil {
			o.Seed = opt.Seeds[p]
		}
		out, t, err := perPromptGroup(ctx, m, prompt, o)
		if err != nil {
			return nil, RolloutTiming{}, err
		}
		outs[p] = out
		tokens += t.Tokens
	}
	return outs, RolloutTiming{Tokens: tokens, Duration: time.Since(start)}, nil
}

// perPromptGroup decodes the G completions of one prompt over a KV cache of
// G rows: one prefill of the prompt in G rows, then one batched Forward per
// position. GenerateGroups uses it on engines without batch-invariant row
// ops (model.RowEngine: the GPU engines), where ForwardStep would run the
// sequences one by one; it is also the anchor of BenchmarkRolloutPrompts.
func perPromptGroup(ctx context.Context, m *model.Model, prompt []int32, opt RolloutOptions) ([][]int32, RolloutTiming, error) {
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
		samplers[g] = model.NewSampler(opt.Sample, rowSeed(opt.Seed, g))
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
