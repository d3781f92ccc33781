package model

import (
	"math"
	"sync"
)

// RopeFreqs returns the hd/2 inverse frequencies of c, with YaRN applied when
// c.RopeScaling is set and MaxPos exceeds the original context:
//
//	inv_freq[i] = θ^(-2i/hd)
//	inv_dim(b)  = hd·ln(orig/(b·2π)) / (2·ln θ)
//	low  = max(floor(inv_dim(beta_fast)), 0), high = min(ceil(inv_dim(beta_slow)), hd/2-1)
//	ramp = clamp((i-low)/max(high-low, 0.001), 0, 1)
//	inv_freq[i] *= (1-ramp) + ramp/factor
//
// The second result is the factor that scales cos and sin.
func (c Config) RopeFreqs() ([]float64, float64) {
	hd := c.HeadDim
	freqs := make([]float64, hd/2)
	for i := range freqs {
		freqs[i] = 1 / math.Pow(c.RopeTheta, float64(2*i)/float64(hd))
	}
	rs := c.RopeScaling
	if rs == nil || float64(c.MaxPos)/float64(rs.OriginalMaxPositionEmbeddings) <= 1 {
		return freqs, 1
	}
	invDim := func(b float64) float64 {
		return float64(hd) * math.Log(float64(rs.OriginalMaxPositionEmbeddings)/(b*2*math.Pi)) / (2 * math.Log(c.RopeTheta))
	}
	low := math.Max(math.Floor(invDim(rs.BetaFast)), 0)
	high := math.Min(math.Ceil(invDim(rs.BetaSlow)), float64(hd/2-1))
	for i := range freqs {
		ramp := (float64(i) - low) / math.Max(high-low, 0.001)
		ramp = math.Min(math.Max(ramp, 0), 1)
		freqs[i] *= (1 - ramp) + ramp/rs.Factor
	}
	return freqs, rs.AttentionFactor
}

// RopeTables returns cos and sin tables [n, hd/2] for positions 0..n-1.
// Angles are computed in float64 and rounded once.
func (c Config) RopeTables(n int) (cos, sin []float32) {
	freqs, af := c.RopeFreqs()
	half := len(freqs)
	cos = make([]float32, n*half) // [n, hd/2]
	sin = make([]float32, n*half) // [n, hd/2]
	for p := 0; p < n; p++ {
		for i, f := range freqs {
			a := float64(p) * f
			cos[p*half+i] = float32(math.Cos(a) * af)
			sin[p*half+i] = float32(math.Sin(a) * af)
		}
	}
	return cos, sin
}

// ropeStart is the number of positions the RoPE tables of a new model
// cover; they grow when a longer context comes.
const ropeStart = 1024

// ropeTables holds a model's RoPE tables, built for the first positions and
// grown (doubling, up to the model's position limit) when a forward pass
// reaches past them. Copies of a Model share it, and they may run on
// several goroutines, hence the mutex.
type ropeTables struct {
	mu       sync.Mutex
	e        Engine // the engine the tables live on
	n        int    // positions covered
	cos, sin Tensor // [n, hd/2]
}

// newRopeTables builds the tables of c for its first n positions on e.
func newRopeTables(c Config, e Engine, n int) *ropeTables {
	cos, sin := c.RopeTables(n)
	return &ropeTables{e: e, n: n, cos: e.Upload(cos), sin: e.Upload(sin)}
}

// rope returns cos and sin tables [n, hd/2] that cover the positions
// 0..maxPos (maxPos < m.ropeN), growing them when needed. The values of a
// row do not depend on n, so a grown table gives the same results.
func (m *Model) rope(maxPos int) (cos, sin Tensor) {
	r := m.ropeTab
	r.mu.Lock()
	defer r.mu.Unlock()
	if maxPos >= r.n {
		n := max(r.n, 1)
		for n <= maxPos {
			n *= 2
		}
		n = min(n, m.ropeN)
		c, s := m.Config.RopeTables(n)
		// The old tables are not freed: a forward pass of a copy of the
		// model on another goroutine may still be reading them. At most
		// log2(limit/ropeStart) smaller tables are left behind this way.
		r.cos, r.sin, r.n = r.e.Upload(c), r.e.Upload(s), n
	}
	return r.cos, r.sin
}

// maxPosition returns the largest of pos (non-empty).
func maxPosition(pos []int32) int {
	mp := pos[0]
	for _, p := range pos[1:] {
		mp = max(mp, p)
	}
	return int(mp)
}
