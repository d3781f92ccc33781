package model

import (
	"errors"
	"fmt"
	"math"
)

// NewGrads allocates zeroed gradient tensors shaped like the weights, on the
// model's engine.
func (m *Model) NewGrads() *Weights {
	g := &Weights{}
	for _, p := range m.Config.Params(g) {
		*p.Ptr = m.Engine.Alloc(p.Size())
	}
	return g
}

// trainEngine returns the model's engine as a TrainEngine.
func (m *Model) trainEngine() (TrainEngine, error) {
	te, ok := m.Engine.(TrainEngine)
	if !ok {
		return nil, fmt.Errorf("model: the %s engine cannot train", m.Engine.Name())
	}
	return te, nil
}

// ErrNonFinite is returned when the loss is NaN or infinite.
var ErrNonFinite = errors.New("model: loss is not finite")

// LossAndGrad runs the forward and backward pass on one micro-batch and adds
// scale·∂(CE + Aux)/∂w into g. CE is the mean cross-entropy of logits[t]
// against Labels[t+1] over the targets that are not IgnoreIndex; Aux is the
// MoE load-balancing loss of the family (MINIMIND.md). The returned loss is
// unscaled.
func (m *Model) LossAndGrad(b Batch, g *Weights, scale float32) (LossInfo, error) {
	B, T, N := b.B, b.T, b.B*b.T
	// Shift: row (b, t) predicts Labels[b, t+1]; the last row of each sequence predicts nothing.
	tgt := make([]int32, N) // [B, T]
	count := 0
	for r := range B {
		for t := range T {
			l := int32(IgnoreIndex)
			if t+1 < T && len(b.Labels) == N {
				l = b.Labels[r*T+t+1]
			}
			tgt[r*T+t] = l
			if l != IgnoreIndex {
				count++
			}
		}
	}
	head := func(logits Tensor, rows, V int) (LossInfo, float64, error) {
		e := m.Engine.(TrainEngine)
		info := LossInfo{Targets: count}
		ceScale := float32(0)
		if count > 0 {
			ceScale = scale / float32(count)
		}
		// dlogits overwrites logits [N, V].
		sum, _ := e.CrossEntropy(logits, logits, tgt, rows, V, ceScale)
		if count > 0 {
			info.CE = sum / float64(count)
		}
		info.Loss = info.CE
		return info, 1, nil
	}
	return m.LossAndGradHead(b, g, scale, head)
}

// LossHead computes a micro-batch's objective from the logits [N, V] of a
// training forward pass and overwrites logits with ∂(scaled objective)/∂logits.
// It returns the loss (without the MoE aux loss) and the weight auxWeight
// with which the aux loss enters the objective (1 for plain training).
type LossHead func(logits Tensor, N, V int) (info LossInfo, auxWeight float64, err error)

// LossAndGradHead runs the forward pass on b, lets head turn the logits into
// their gradient, adds the MoE aux loss (weighted by auxWeight, its gradient
// by scale·auxWeight) and back-propagates into g (and the LoRA adapters'
// gradients, when enabled). Batch labels are only validated, not used.
func (m *Model) LossAndGradHead(b Batch, g *Weights, scale float32, head LossHead) (LossInfo, error) {
	c := m.Config
	e, err := m.trainEngine()
	if err != nil {
		return LossInfo{}, err
	}
	if err := b.Validate(c); err != nil {
		return LossInfo{}, err
	}
	B, T, N, D, V := b.B, b.T, b.B*b.T, c.Hidden, c.Vocab
	tape := &Tape{}
	defer tape.Free(e)
	logits, err := m.Forward(b.Input, B, ForwardOptions{Tape: tape, Positions: b.Positions, Docs: b.Docs})
	if err != nil {
		return LossInfo{}, err
	}
	info, auxWeight, err := head(logits, N, V)
	if err != nil {
		e.Free(logits)
		return info, err
	}
	routings := tape.Routings()
	if c.UseMoE {
		info.Aux = m.auxLoss(routings, B, T)
	}
	info.Loss += auxWeight * info.Aux
	if math.IsNaN(info.Loss) || math.IsInf(info.Loss, 0) {
		e.Free(logits)
		return info, fmt.Errorf("%w: CE %v, aux %v", ErrNonFinite, info.CE, info.Aux)
	}
	scale *= float32(auxWeight) // the aux loss's gradient weight below

	// Output head and final norm.
	dxf := e.Alloc(N * D) // [N, D]
	e.MatMulBackward(dxf, g.Head(), logits, tape.xFinal, m.W.Head(), N, D, V, false)
	e.Free(logits)
	dx := e.Alloc(N * D) // [N, D] gradient of the residual stream
	e.RMSNormBackward(dx, g.Norm, dxf, tape.xLast, m.W.Norm, N, D, float32(c.NormEps))
	e.Free(dxf)

	tmp := e.Alloc(N * D) // [N, D] scratch
	for li := c.Layers - 1; li >= 0; li-- {
		la := &tape.layers[li]
		lw, lg := &m.W.Layers[li], &g.Layers[li]
		// x_out = x_mid + ffn(post_norm(x_mid)): dx is ∂/∂x_out, and flows to x_mid unchanged.
		dh2 := e.Alloc(N * D) // [N, D]
		if c.UseMoE {
			if err := m.moeBackward(e, la, lw, lg, dh2, dx, N, B, T, scale); err != nil {
				return info, err
			}
		} else {
			m.ffnBackward(e, &la.dense, lw.FFN, lg.FFN, dh2, dx, N, false)
		}
		e.RMSNormBackward(tmp, lg.PostNorm, dh2, la.xMid, lw.PostNorm, N, D, float32(c.NormEps))
		e.Free(dh2)
		e.Add(dx, dx, tmp, N*D) // dx is now ∂/∂x_mid

		// x_mid = x_in + o_proj(attention(...)).
		H, KVH, hd := c.Heads, c.KVHeads, c.HeadDim
		datt := e.Alloc(N * H * hd) // [N, H·hd]
		e.MatMulBackward(datt, lg.O, dx, la.att, lw.O, N, H*hd, D, false)
		m.adaptBackward(e, datt, dx, la.att, lw.O, N, H*hd, D)
		dq, dk, dv := e.Alloc(N*H*hd), e.Alloc(N*KVH*hd), e.Alloc(N*KVH*hd)
		e.AttentionBackward(dq, dk, dv, datt, la.q, la.k, la.v, AttnArgs{B: B, T: T, Heads: H, KVHeads: KVH,
			HeadDim: hd, S: T, Scale: float32(1 / math.Sqrt(float64(hd))), Docs: b.Docs})
		e.Free(datt)
		cos, sin := m.rope(maxPosition(tape.Positions)) // [≥ max(pos)+1, hd/2]
		e.RoPEBackward(dq, cos, sin, tape.Positions, H, hd)
		e.RoPEBackward(dk, cos, sin, tape.Positions, KVH, hd)
		if c.QKNorm() {
			dqr, dkr := e.Alloc(N*H*hd), e.Alloc(N*KVH*hd)
			e.RMSNormBackward(dqr, lg.QNorm, dq, la.qRaw, lw.QNorm, N*H, hd, float32(c.NormEps))
			e.RMSNormBackward(dkr, lg.KNorm, dk, la.kRaw, lw.KNorm, N*KVH, hd, float32(c.NormEps))
			e.Free(dq)
			e.Free(dk)
			dq, dk = dqr, dkr
		}
		dh1 := e.Alloc(N * D) // [N, D]
		e.MatMulBackward(dh1, lg.Q, dq, la.h1, lw.Q, N, D, H*hd, false)
		e.MatMulBackward(dh1, lg.K, dk, la.h1, lw.K, N, D, KVH*hd, true)
		e.MatMulBackward(dh1, lg.V, dv, la.h1, lw.V, N, D, KVH*hd, true)
		m.adaptQKVBackward(e, la, lw, dh1, dq, dk, dv, N)
		e.Free(dq)
		e.Free(dk)
		e.Free(dv)
		e.RMSNormBackward(tmp, lg.InputNorm, dh1, la.xIn, lw.InputNorm, N, D, float32(c.NormEps))
		e.Free(dh1)
		e.Add(dx, dx, tmp, N*D) // dx is now ∂/∂x_in
	}
	e.Free(tmp)
	if g.Embed != nil { // nil: frozen embeddings (LoRA)
		e.EmbedBackward(g.Embed, dx, b.Input, D)
	}
	e.Free(dx)
	return info, nil
}

// ffnBackward back-propagates dout [n, D] through one SwiGLU block whose
// forward activations are in a: weight gradients go to gw, the input
// gradient is written to dx [n, D] (added when acc).
func (m *Model) ffnBackward(e TrainEngine, a *ffnActs, w, gw FFNWeights, dx, dout Tensor, n int, acc bool) {
	D, F := m.Config.Hidden, m.Config.FFN
	dact := e.Alloc(n * F) // [n, F]
	e.MatMulBackward(dact, gw.Down, dout, a.act, w.Down, n, F, D, false)
	m.adaptBackward(e, dact, dout, a.act, w.Down, n, F, D)
	dgate, dup := e.Alloc(n*F), e.Alloc(n*F) // [n, F]
	e.SwiGLUBackward(dgate, dup, dact, a.gate, a.up, n*F)
	e.Free(dact)
	e.MatMulBackward(dx, gw.Gate, dgate, a.in, w.Gate, n, D, F, acc)
	e.MatMulBackward(dx, gw.Up, dup, a.in, w.Up, n, D, F, true)
	m.adaptBackward(e, dx, dgate, a.in, w.Gate, n, D, F)
	m.adaptBackward(e, dx, dup, a.in, w.Up, n, D, F)
	e.Free(dgate)
	e.Free(dup)
}

// auxLoss is the load-balancing loss summed over the MoE layers.
//
// MiniMind2 (seq_aux): α · mean_b Σ_e count_{b,e}/(T·k/E) · mean_t score_{b,t,e}.
// MiniMind3: coef · E · Σ_e load_e · mean_n score_{n,e}, load_e the share of
// all (token, slot) assignments routed to e.
func (m *Model) auxLoss(rs []*Routing, B, T int) float64 {
	var total float64
	for _, r := range rs {
		coef := m.auxCoef(r, B, T)
		for i, s := range r.Scores {
			total += float64(coef[i]) * float64(s)
		}
	}
	return total
}

// auxCoef returns ∂aux/∂score [N, E] of one layer; the aux loss is linear in
// the scores (the counts are constants), so aux = Σ coef·score.
func (m *Model) auxCoef(r *Routing, B, T int) []float32 {
	c := m.Config
	E, k, N := c.Experts, c.TopK, B*T
	coef := make([]float32, N*E)
	if c.Family == MiniMind3 {
		load := make([]float64, E)
		for _, ex := range r.Experts {
			load[ex] += 1 / float64(N*k)
		}
		for n := range N {
			for ex := range E {
				coef[n*E+ex] = float32(c.AuxLossCoef * float64(E) * load[ex] / float64(N))
			}
		}
		return coef
	}
	for b := range B {
		cnt := make([]float64, E)
		for t := range T {
			for j := range k {
				cnt[r.Experts[(b*T+t)*k+j]]++
			}
		}
		for ex := range E {
			v := c.AuxLossCoef / float64(B) * cnt[ex] / (float64(T*k) / float64(E)) / float64(T)
			for t := range T {
				coef[(b*T+t)*E+ex] = float32(v)
			}
		}
	}
	return coef
}

// moeBackward back-propagates dout [N, D] through the MoE block: experts,
// shared experts, routing weights (through the renormalisation and the
// router softmax) and the aux loss (scaled by scale). The input gradient is
// written to dh2 [N, D].
func (m *Model) moeBackward(e TrainEngine, la *layerActs, lw, lg *LayerWeights, dh2, dout Tensor, N, B, T int, scale float32) error {
	c := m.Config
	D, E, k := c.Hidden, c.Experts, c.TopK
	r := la.route
	e.Zero(dh2, N*D)
	for j := range lw.Shared {
		m.ffnBackward(e, &la.shared[j], lw.Shared[j], lg.Shared[j], dh2, dout, N, true)
	}
	dw := make([]float32, N*k) // ∂L/∂(routing weight) [N, k]
	for ex := range E {
		rows := r.Rows[ex]
		if len(rows) == 0 {
			continue
		}
		n := len(rows)
		// out[rows[i]] += w_i · y_i: ∂/∂w_i = ⟨dout[rows[i]], y_i⟩, ∂/∂y_i = w_i · dout[rows[i]].
		dots := e.RowDot(dout, la.expertOut[ex], rows, D)
		for i, t := range rows {
			dw[int(t)*k+int(r.RowSlot[ex][i])] = dots[i]
		}
		dy := e.Alloc(n * D) // [n, D]
		e.GatherScaled(dy, dout, rows, r.RowW[ex], D)
		dxe := e.Alloc(n * D) // [n, D]
		m.ffnBackward(e, &la.experts[ex], lw.Experts[ex], lg.Experts[ex], dxe, dy, n, false)
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = 1
		}
		e.ScatterAdd(dh2, dxe, rows, ones, D)
		e.Free(dy)
		e.Free(dxe)
	}
	// Routing weights → scores [N, E] on the host.
	ds := make([]float32, N*E)
	renorm := c.Family == MiniMind3 || (k > 1 && c.NormTopK)
	for t := range N {
		sel := r.Experts[t*k : (t+1)*k]
		if !renorm {
			for j, ex := range sel {
				ds[t*E+int(ex)] += dw[t*k+j]
			}
			continue
		}
		// w_j = s_j / Z, Z = Σ_sel s (+1e-20 for MiniMind2):
		// ∂L/∂s_j = g_j/Z − Σ_i g_i s_i / Z².
		var z, gs float64
		for _, ex := range sel {
			z += float64(r.Scores[t*E+int(ex)])
		}
		if c.Family == MiniMind2 {
			z += 1e-20
		}
		for j, ex := range sel {
			gs += float64(dw[t*k+j]) * float64(r.Scores[t*E+int(ex)])
		}
		for j, ex := range sel {
			ds[t*E+int(ex)] += float32(float64(dw[t*k+j])/z - gs/(z*z))
		}
	}
	if c.AuxLossCoef != 0 {
		for i, v := range m.auxCoef(r, B, T) {
			ds[i] += v * scale
		}
	}
	dsT := e.Upload(ds)
	probs := e.Upload(r.Scores)
	dlog := e.Alloc(N * E) // [N, E] gradient of the router logits
	e.SoftmaxBackward(dlog, dsT, probs, N, E)
	e.MatMulBackward(dh2, lg.Router, dlog, la.h2, lw.Router, N, D, E, true)
	e.Free(dsT)
	e.Free(probs)
	e.Free(dlog)
	return nil
}

// Loss runs the forward pass on one batch and returns its mean
// cross-entropy (no gradients, no MoE aux loss): the validation loss.
func (m *Model) Loss(b Batch) (LossInfo, error) {
	e, err := m.trainEngine()
	if err != nil {
		return LossInfo{}, err
	}
	if err := b.Validate(m.Config); err != nil {
		return LossInfo{}, err
	}
	B, T := b.B, b.T
	tgt := make([]int32, B*T) // [B, T] shifted labels
	for r := range B {
		for t := range T {
			tgt[r*T+t] = IgnoreIndex
			if t+1 < T {
				tgt[r*T+t] = b.Labels[r*T+t+1]
			}
		}
	}
	logits, err := m.Forward(b.Input, B, ForwardOptions{Positions: b.Positions, Docs: b.Docs})
	if err != nil {
		return LossInfo{}, err
	}
	defer e.Free(logits)
	sum, n := e.CrossEntropy(logits, logits, tgt, B*T, m.Config.Vocab, 0)
	info := LossInfo{Targets: n}
	if n > 0 {
		info.CE = sum / float64(n)
		info.Loss = info.CE
	}
	return info, nil
}
