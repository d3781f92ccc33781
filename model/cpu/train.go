package cpu

import (
	"math"
	"sync"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/gemm"
	"github.com/minimind-go/minimind/model/vmath"
)

var _ model.TrainEngine = (*Engine)(nil)

// Zero implements model.TrainEngine.
func (e *Engine) Zero(t model.Tensor, n int) { clear(h(t)[:n]) }

// Scale implements model.TrainEngine.
func (e *Engine) Scale(t model.Tensor, n int, s float32) { gemm.Scale(s, h(t)[:n]) }

// SumSquares implements model.TrainEngine.
func (e *Engine) SumSquares(t model.Tensor, n int) float64 {
	x := h(t)[:n]
	var sum float64
	const chunk = 4096
	for i := 0; i < n; i += chunk {
		c := x[i:min(i+chunk, n)]
		sum += float64(gemm.Dot(c, c))
	}
	return sum
}

// AdamW implements model.TrainEngine with PyTorch's AdamW arithmetic.
func (e *Engine) AdamW(p, g, m, v model.Tensor, n int, s model.AdamWStep) {
	ps, gs, ms, vs := h(p)[:n], h(g)[:n], h(m)[:n], h(v)[:n]
	decay := 1 - s.LR*s.WeightDecay
	bc1 := 1 - math.Pow(float64(s.Beta1), float64(s.Step))
	bc2 := 1 - math.Pow(float64(s.Beta2), float64(s.Step))
	stepSize := float32(float64(s.LR) / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	b1, b2 := s.Beta1, s.Beta2
	e.parallel(n, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ps[i] *= decay
			ms[i] = ms[i]*b1 + gs[i]*(1-b1)
			vs[i] = vs[i]*b2 + gs[i]*gs[i]*(1-b2)
			denom := float32(math.Sqrt(float64(vs[i])))/bc2Sqrt + s.Eps
			ps[i] -= stepSize * ms[i] / denom
		}
	})
}

// CrossEntropy implements model.TrainEngine.
func (e *Engine) CrossEntropy(dlogits, logits model.Tensor, labels []int32, rows, V int, scale float32) (float64, int) {
	d, x := h(dlogits), h(logits) // [rows, V]
	losses := make([]float64, rows)
	e.parallel(rows, V*4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, dr := x[r*V:(r+1)*V], d[r*V:(r+1)*V]
			l := labels[r]
			if l == model.IgnoreIndex {
				clear(dr)
				continue
			}
			xl := xr[l] // dr may alias xr
			maxv := float32(math.Inf(-1))
			for _, v := range xr {
				maxv = max(maxv, v)
			}
			sum := vmath.ExpShift(dr, xr, maxv) // dr = e^(x−max)
			losses[r] = float64(maxv) + math.Log(sum) - float64(xl)
			f := scale * float32(1/sum)
			for i := range dr {
				dr[i] *= f
			}
			dr[l] -= scale
		}
	})
	var total float64
	count := 0
	for r, l := range labels[:rows] {
		if l != model.IgnoreIndex {
			total += losses[r]
			count++
		}
	}
	return total, count
}

// EmbedBackward implements model.TrainEngine.
func (e *Engine) EmbedBackward(dtable, dout model.Tensor, ids []int32, dim int) {
	dt, do := h(dtable), h(dout)
	for i, id := range ids {
		gemm.Axpy(1, do[i*dim:(i+1)*dim], dt[int(id)*dim:(int(id)+1)*dim])
	}
}

// RMSNormBackward implements model.TrainEngine. With r = rsqrt(mean(x²)+eps)
// and y = w⊙x·r: dx = r·(w⊙dy) − r³/dim · x · Σ(w⊙dy⊙x), dw += Σ_rows dy⊙x·r.
func (e *Engine) RMSNormBackward(dx, dw, dout, x, w model.Tensor, rows, dim int, eps float32) {
	dxs, dws, dys, xs, ws := h(dx), h(dw), h(dout), h(x), h(w)
	var mu sync.Mutex
	e.parallel(rows, dim*4, func(lo, hi int) {
		part := make([]float32, dim) // this worker's share of dw
		for r := lo; r < hi; r++ {
			xr, dy, dxr := xs[r*dim:(r+1)*dim], dys[r*dim:(r+1)*dim], dxs[r*dim:(r+1)*dim]
			ss := gemm.Dot(xr, xr)
			inv := float32(1 / math.Sqrt(float64(ss/float32(dim)+eps)))
			var dot float32 // Σ w·dy·x
			for i := range dim {
				dot += ws[i] * dy[i] * xr[i]
				part[i] += dy[i] * xr[i] * inv
			}
			k := inv * inv * inv / float32(dim) * dot
			for i := range dim {
				dxr[i] = inv*ws[i]*dy[i] - k*xr[i]
			}
		}
		mu.Lock()
		gemm.Axpy(1, part, dws[:dim])
		mu.Unlock()
	})
}

// MatMulBackward implements model.TrainEngine.
func (e *Engine) MatMulBackward(dx, dw, dout, x, w model.Tensor, n, k, m int, accX bool) {
	if dx != nil {
		gemm.NN(h(dx), h(dout), h(w), n, k, m, accX, e.threads) // dx[n,k] = dout[n,m]·w[m,k]
	}
	if dw != nil { // nil: a frozen weight
		gemm.TN(h(dw), h(dout), h(x), m, k, n, true, e.threads) // dw[m,k] += dout[n,m]ᵀ·x[n,k]
	}
}

// RoPEBackward implements model.TrainEngine: the transpose of the rotation.
func (e *Engine) RoPEBackward(dx, cos, sin model.Tensor, pos []int32, heads, hd int) {
	xs, cs, sn := h(dx), h(cos), h(sin) // xs [len(pos), heads, hd]; cs, sn [maxPos, hd/2]
	e.parallel(len(pos), heads*hd, func(lo, hi int) { ropeRows(xs, cs, sn, pos, heads, hd, lo, hi, -1) })
}

// AttentionBackward implements model.TrainEngine. Probabilities are
// recomputed per (sequence, head) from q and k with GEMMs; work is split
// over (sequence, kv head) so the dk/dv of a kv head has one writer.
//
//	P  = softmax(mask(q·kᵀ·scale))      [T, T]
//	dP = dout·vᵀ                        [T, T]
//	dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale
//	dq = dS·k,  dk += dSᵀ·q,  dv += Pᵀ·dout
func (e *Engine) AttentionBackward(dq, dk, dv, dout, q, k, v model.Tensor, a model.AttnArgs) {
	dqs, dks, dvs, dos := h(dq), h(dk), h(dv), h(dout)
	qs, ks, vs := h(q), h(k), h(v)
	// qs, dqs [B,T,H,hd]; ks, vs, dks, dvs [B,T,KVH,hd]; dos [B,T,H·hd]
	H, KVH, hd, T := a.Heads, a.KVHeads, a.HeadDim, a.T
	group := H / KVH
	clear(dks[:a.B*T*KVH*hd])
	clear(dvs[:a.B*T*KVH*hd])
	e.parallel(a.B*KVH, group*T*T*hd, func(lo, hi int) {
		p := make([]float32, T*T)  // [T, T] probabilities
		dp := make([]float32, T*T) // [T, T] their gradients, then dS
		for bg := lo; bg < hi; bg++ {
			b, g := bg/KVH, bg%KVH
			kg, vg := ks[(b*T*KVH+g)*hd:], vs[(b*T*KVH+g)*hd:]     // rows at stride KVH·hd
			dkg, dvg := dks[(b*T*KVH+g)*hd:], dvs[(b*T*KVH+g)*hd:] // rows at stride KVH·hd
			for hh := g * group; hh < (g+1)*group; hh++ {
				qh, doh, dqh := qs[(b*T*H+hh)*hd:], dos[(b*T*H+hh)*hd:], dqs[(b*T*H+hh)*hd:] // stride H·hd
				gemm.NTStrided(p, T, qh, H*hd, kg, KVH*hd, T, T, hd, false, 1)
				gemm.NTStrided(dp, T, doh, H*hd, vg, KVH*hd, T, T, hd, false, 1)
				for t := range T {
					row, drow := p[t*T:(t+1)*T], dp[t*T:(t+1)*T]
					n := t + 1
					for j := range n {
						row[j] *= a.Scale
						if a.Docs != nil && a.Docs[b*T+j] != a.Docs[b*T+t] {
							row[j] = float32(math.Inf(-1))
						}
					}
					softmaxRow(row[:n], row[:n])
					clear(row[n:])
					var pdp float32 // Σ_j P·dP
					for j := range n {
						pdp += row[j] * drow[j]
					}
					for j := range n {
						drow[j] = row[j] * (drow[j] - pdp) * a.Scale
					}
					clear(drow[n:])
				}
				gemm.NNStrided(dqh, H*hd, dp, T, kg, KVH*hd, T, hd, T, false, 1)
				gemm.TNStrided(dkg, KVH*hd, dp, T, qh, H*hd, T, hd, T, true, 1)
				gemm.TNStrided(dvg, KVH*hd, p, T, doh, H*hd, T, hd, T, true, 1)
			}
		}
	})
}

// SwiGLUBackward implements model.TrainEngine.
func (e *Engine) SwiGLUBackward(dgate, dup, dout, gate, up model.Tensor, n int) {
	dg, du, do, g, u := h(dgate), h(dup), h(dout), h(gate), h(up)
	e.parallel(n, 16, func(lo, hi int) {
		var ebuf [sigBlock]float32
		for b := lo; b < hi; b += sigBlock {
			end := min(b+sigBlock, hi)
			ex := negExp(ebuf[:end-b], g[b:end]) // e^(−x)
			for j, en := range ex {
				i := b + j
				x := g[i]
				sig := 1 / (1 + en)
				silu := x * sig
				du[i] = do[i] * silu
				dg[i] = do[i] * u[i] * sig * (1 + x*(1-sig))
			}
		}
	})
}

// RowDot implements model.TrainEngine.
func (e *Engine) RowDot(a, b model.Tensor, rows []int32, dim int) []float32 {
	as, bs := h(a), h(b)
	out := make([]float32, len(rows))
	for i, r := range rows {
		out[i] = gemm.Dot(as[int(r)*dim:(int(r)+1)*dim], bs[i*dim:(i+1)*dim])
	}
	return out
}

// GatherScaled implements model.TrainEngine.
func (e *Engine) GatherScaled(out, x model.Tensor, rows []int32, w []float32, dim int) {
	o, xs := h(out), h(x)
	for i, r := range rows {
		or := o[i*dim : (i+1)*dim]
		for j, v := range xs[int(r)*dim : (int(r)+1)*dim] {
			or[j] = w[i] * v
		}
	}
}

// SoftmaxBackward implements model.TrainEngine.
func (e *Engine) SoftmaxBackward(dx, dy, y model.Tensor, rows, cols int) {
	dxs, dys, ys := h(dx), h(dy), h(y)
	for r := range rows {
		yr, dyr, dxr := ys[r*cols:(r+1)*cols], dys[r*cols:(r+1)*cols], dxs[r*cols:(r+1)*cols]
		dot := gemm.Dot(dyr, yr)
		for i := range cols {
			dxr[i] = yr[i] * (dyr[i] - dot)
		}
	}
}
