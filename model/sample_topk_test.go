package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// stableOrder is the full sort Sample used before topK: ids by logit,
// best first, ties to the lower id.
func stableOrder(logits []float32) []int {
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	return idx
}

// randomLogits draws logits with many ties (a few distinct values),
// infinities and both zeros, or continuous values.
func randomLogits(r *rand.Rand, n int, ties bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		if ties {
			x[i] = float32(r.IntN(7)) - 3
			switch r.IntN(40) {
			case 0:
				x[i] = float32(math.Inf(1))
			case 1:
				x[i] = float32(math.Inf(-1))
			case 2:
				x[i] = float32(math.Copysign(0, -1))
			}
		} else {
			x[i] = float32(r.NormFloat64() * 3)
		}
	}
	return x
}

// TestTopKMatchesStableSort checks that selecting the top K gives exactly
// the first K ids of the full stable sort, ties and infinities included.
func TestTopKMatchesStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + r.IntN(300)
		x := randomLogits(r, n, trial%2 == 0)
		want := stableOrder(x)
		for _, k := range []int{1, 2, 5, 50, n - 1, n} {
			if k < 1 || k > n {
				continue
			}
			got := topK(x, make([]int, 0, n), k)
			require.Equal(t, want[:k], got, "trial %d n %d k %d", trial, n, k)
		}
	}
}

// TestSampleTopKSameDraws checks that MiniMind's rollout sampling (top-k 50,
// top-p 0.85, temperature 0.8) draws the same tokens as the full-sort
// sampler it replaces, and that a NaN logit falls back to the full sort.
func TestSampleTopKSameDraws(t *testing.T) {
	opt := SampleOptions{Temperature: 0.8, TopK: 50, TopP: 0.85, RepetitionPenalty: 1}
	r := rand.New(rand.NewPCG(3, 4))
	fast, ref := NewSampler(opt, 9), NewSampler(opt, 9)
	for trial := range 400 {
		x := randomLogits(r, 64+r.IntN(6400), trial%3 == 0)
		if trial%50 == 7 {
			x[r.IntN(len(x))] = float32(math.NaN())
		}
		y := slices.Clone(x)
		require.Equal(t, refSample(ref, y), fast.Sample(x, nil), "trial %d", trial)
	}
}

// refSample is Sample with the full stable sort (no repetition penalty).
func refSample(s *Sampler, logits []float32) int32 {
	o := s.opt
	idx := stableOrder(logits)
	n := min(len(idx), o.TopK)
	p := make([]float32, n)
	maxv := logits[idx[0]] / o.Temperature
	var sum float64
	for i := range n {
		e := math.Exp(float64(logits[idx[i]]/o.Temperature - maxv))
		p[i] = float32(e)
		sum += e
	}
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
	u := s.rng.Float64() * sum
	for i, v := range p {
		u -= float64(v)
		if u < 0 {
			return int32(idx[i])
		}
	}
	return int32(idx[n-1])
}

func BenchmarkSampleTopK(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randomLogits(r, 6400, false)
	opt := SampleOptions{Temperature: 0.8, TopK: 50, TopP: 0.85, RepetitionPenalty: 1}
	b.Run("topk", func(b *testing.B) {
		s := NewSampler(opt, 1)
		for range b.N {
			s.Sample(slices.Clone(x), nil)
		}
	})
	b.Run("full-sort", func(b *testing.B) {
		s := NewSampler(opt, 1)
		for range b.N {
			refSample(s, slices.Clone(x))
		}
	})
}
