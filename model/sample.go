package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// SampleOptions chooses how the next token is drawn from the logits.
type SampleOptions struct {
	// Temperature divides the logits; 0 means greedy (argmax).
	Temperature float32
	// TopK keeps the K most likely tokens (0: all).
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches P (0 or 1: all).
	TopP float32
	// RepetitionPenalty > 1 discourages tokens already in the context
	// (logit/p when positive, logit·p when negative; 0 or 1: off).
	RepetitionPenalty float32
}

// Sampler draws tokens deterministically for a given seed.
type Sampler struct {
	opt  SampleOptions
	rng  *rand.Rand
	idx  []int
	buf  []float32
	seen map[int32]bool // tokens already penalised in this call (reused)
}

// NewSampler returns a sampler with its own random stream.
func NewSampler(opt SampleOptions, seed uint64) *Sampler {
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(seed, 0x73616d706c6572))}
}

// Sample picks a token from logits [V]. context is the token history used by
// the repetition penalty. logits is modified in place.
func (s *Sampler) Sample(logits []float32, context []int32) int32 {
	o := s.opt
	if o.RepetitionPenalty > 0 && o.RepetitionPenalty != 1 {
		if s.seen == nil {
			s.seen = make(map[int32]bool, len(context))
		}
		seen := s.seen
		clear(seen)
		for _, id := range context {
			if seen[id] || id < 0 || int(id) >= len(logits) {
				continue
			}
			seen[id] = true
			if logits[id] > 0 {
				logits[id] /= o.RepetitionPenalty
			} else {
				logits[id] *= o.RepetitionPenalty
			}
		}
	}
	if o.Temperature <= 0 {
		return Argmax(logits)
	}
	// Candidates sorted by logit, best first (ties: lower id first).
	if cap(s.idx) < len(logits) {
		s.idx = make([]int, len(logits))
		s.buf = make([]float32, len(logits))
	}
	var idx []int
	n := len(logits)
	if o.TopK > 0 && o.TopK < n && !hasNaN(logits) {
		// Only the top K are used: select them (a heap of K) instead of
		// sorting the vocabulary. Without NaNs the order (logit desc, id
		// asc) is total, so these are the first K of the full sort.
		n = o.TopK
		idx = topK(logits, s.idx[:0], n)
	} else {
		idx = s.idx[:len(logits)]
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
		if o.TopK > 0 && o.TopK < n {
			n = o.TopK
		}
	}
	p := s.buf[:n]
	maxv := logits[idx[0]] / o.Temperature
	var sum float64
	for i := range n {
		e := math.Exp(float64(logits[idx[i]]/o.Temperature - maxv))
		p[i] = float32(e)
		sum += e
	}
	if o.TopP > 0 && o.TopP < 1 {
		var cum float64
		for i := range n {
			cum += float64(p[i]) / sum
			if cum >= float64(o.TopP) {
				n = i + 1
				break
			}
		}
		p = p[:n]
		sum = 0
		for _, v := range p {
			sum += float64(v)
		}
	}
	r := s.rng.Float64() * sum
	for i, v := range p {
		r -= float64(v)
		if r < 0 {
			return int32(idx[i])
		}
	}
	return int32(idx[n-1])
}

func hasNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

// topK returns the ids of the k largest logits, best first, ties to the
// lower id, in buf's storage: a min-heap of the best k seen (its root the
// worst of them), then sorted.
func topK(logits []float32, buf []int, k int) []int {
	// worse reports whether id a ranks below id b.
	worse := func(a, b int) bool {
		return logits[a] < logits[b] || (logits[a] == logits[b] && a > b)
	}
	h := buf[:0]
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && worse(h[c+1], h[c]) {
				c++
			}
			if !worse(h[c], h[i]) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for id := range logits {
		switch {
		case len(h) < k:
			h = append(h, id)
			for i := len(h) - 1; i > 0; { // sift up
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
		case worse(h[0], id):
			h[0] = id
			down(0)
		}
	}
	sort.Slice(h, func(a, b int) bool { return worse(h[b], h[a]) })
	return h
}

// Argmax returns the index of the largest value of x (the first of equal
// ones): the greedy choice over logits.
func Argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// GenerateOptions controls Generate.
type GenerateOptions struct {
	MaxTokens int // new tokens at most (default 256)
	Sample    SampleOptions
	Seed      uint64
	// StopTokens end generation (default: the config's EOS). The stop token
	// is not returned.
	StopTokens []int32
	// OnToken, when set, receives each new token as it is generated;
	// returning an error stops generation with that error.
	OnToken func(id int32) error
}

// ErrStopped can be returned by OnToken to end generation early without error.
var ErrStopped = errors.New("model: generation stopped")

// Generate continues prompt and returns the new tokens. It prefills the
// prompt in one batched pass, then decodes one token at a time over a KV
// cache, until a stop token, MaxTokens, the end of the context or ctx is done.
func (m *Model) Generate(ctx context.Context, prompt []int32, opt GenerateOptions) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, errors.New("model: empty prompt")
	}
	if opt.MaxTokens <= 0 {
		opt.MaxTokens = 256
	}
	stops := opt.StopTokens
	if stops == nil {
		stops = []int32{m.Config.EOS}
	}
	capacity := min(len(prompt)+opt.MaxTokens, m.ropeN)
	if len(prompt) >= capacity {
		return nil, fmt.Errorf("%w: the prompt has %d tokens, the model %d positions", ErrContextFull, len(prompt), m.ropeN)
	}
	cache := m.NewCache(1, capacity)
	defer cache.Free(m.Engine)
	s := NewSampler(opt.Sample, opt.Seed)
	history := append([]int32(nil), prompt...)
	var out []int32
	next := prompt
	var l []float32   // [V] the last logits, read into the same buffer every step
	one := []int32{0} // the token fed at each decoding step
	for len(out) < opt.MaxTokens && cache.Len+len(next) <= capacity {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		logits, err := m.Forward(next, 1, ForwardOptions{Cache: cache, LastOnly: true})
		if err != nil {
			return out, err
		}
		l = ReadTo(m.Engine, l, logits)
		m.Engine.Free(logits)
		id := s.Sample(l, history)
		for _, st := range stops {
			if id == st {
				return out, nil
			}
		}
		out = append(out, id)
		history = append(history, id)
		if opt.OnToken != nil {
			if err := opt.OnToken(id); err != nil {
				if errors.Is(err, ErrStopped) {
					return out, nil
				}
				return out, err
			}
		}
		one[0] = id
		next = one
	}
	return out, nil
}
