package model

import (
	"fmt"
	"math"
)

// RowEngine is implemented by engines that can run the row-wise ops of a
// batched decoding step so that a row's result does not depend on the other
// rows: each row comes out bit for bit as the same op computes it for that
// row alone. ForwardStep uses it to make decoding batch invariant.
type RowEngine interface {
	// MatMulRows is MatMul (out [n, m] = x [n, k] · w [m, k]ᵀ) whose row i
	// equals MatMul of row i alone (n = 1).
	MatMulRows(out, x, w Tensor, n, k, m int)
	// SwiGLURows is SwiGLU over rows·cols elements whose every row of cols
	// elements equals SwiGLU of that row alone (n = cols).
	SwiGLURows(out, gate, up Tensor, rows, cols int)
}

// ForwardStep runs one decoding step of len(ids) independent sequences
// together: sequence i feeds token ids[i] at its own position caches[i].Len
// of its own single-sequence cache (B = 1), and the step returns the logits
// [len(ids), V] of the next token of every sequence. The caller frees them.
//
// Sequences of different lengths share the matrix products of the step
// (each weight is read once for the whole batch); attention runs per
// sequence on its own cache. On an engine that implements RowEngine and a
// dense model, row i of the logits is bit for bit what Forward returns for
// ids[i] alone with caches[i] (LastOnly), whatever the other sequences are:
// greedy and seeded sampling then give the same tokens alone and in a
// batch. Other engines and MoE models run the sequences one by one through
// Forward, which gives the same guarantee.
func (m *Model) ForwardStep(ids []int32, caches []*KVCache) (Tensor, error) {
	c, e := m.Config, m.Engine
	N := len(ids)
	if N == 0 || len(caches) != N {
		return nil, fmt.Errorf("model: a step needs one cache per token, got %d tokens and %d caches", N, len(caches))
	}
	seen := make(map[*KVCache]bool, N)
	pos := make([]int32, N) // [N] the position of each new token
	for i, kc := range caches {
		id := ids[i]
		switch {
		case kc == nil || kc.B != 1:
			return nil, fmt.Errorf("model: step sequence %d needs a single-sequence cache", i)
		case seen[kc]:
			return nil, fmt.Errorf("model: step sequence %d shares its cache with another sequence", i)
		case id < 0 || int(id) >= c.Vocab:
			return nil, fmt.Errorf("model: token id %d of step sequence %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
		case kc.Len+1 > kc.Cap:
			return nil, fmt.Errorf("%w: step sequence %d has %d cached tokens, its cache holds %d", ErrContextFull, i, kc.Len, kc.Cap)
		case kc.Len >= m.ropeN:
			return nil, fmt.Errorf("%w: position %d is beyond the model's %d positions", ErrContextFull, kc.Len, m.ropeN)
		}
		seen[kc] = true
		pos[i] = int32(kc.Len)
	}
	re, ok := e.(RowEngine)
	if !ok || c.UseMoE {
		return m.stepOneByOne(ids, caches)
	}
	cos, sin := m.rope(maxPosition(pos)) // [≥ max(pos)+1, hd/2]

	D, H, KVH, hd, F := c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.FFN
	eps := float32(c.NormEps)
	scale := float32(1 / math.Sqrt(float64(hd)))
	x := e.Alloc(N * D) // [N, D] the residual stream
	e.Embed(x, m.W.Embed, ids, D)
	qi, oi := e.Alloc(H*hd), e.Alloc(H*hd) // [1, H, hd] one sequence's query and attention output
	for li := range c.Layers {
		lw := &m.W.Layers[li]
		h1 := e.Alloc(N * D) // [N, D]
		e.RMSNorm(h1, x, lw.InputNorm, N, D, eps)
		q := e.Alloc(N * H * hd)   // [N, H, hd]
		k := e.Alloc(N * KVH * hd) // [N, KVH, hd]
		v := e.Alloc(N * KVH * hd) // [N, KVH, hd]
		re.MatMulRows(q, h1, lw.Q, N, D, H*hd)
		re.MatMulRows(k, h1, lw.K, N, D, KVH*hd)
		re.MatMulRows(v, h1, lw.V, N, D, KVH*hd)
		e.Free(h1)
		if c.QKNorm() {
			qn, kn := e.Alloc(N*H*hd), e.Alloc(N*KVH*hd)
			e.RMSNorm(qn, q, lw.QNorm, N*H, hd, eps)
			e.RMSNorm(kn, k, lw.KNorm, N*KVH, hd, eps)
			e.Free(q)
			e.Free(k)
			q, k = qn, kn
		}
		e.RoPE(q, cos, sin, pos, H, hd)
		e.RoPE(k, cos, sin, pos, KVH, hd)
		att := e.Alloc(N * H * hd) // [N, H·hd]
		row := KVH * hd
		for i, kc := range caches {
			e.Copy(kc.K[li], kc.Len*row, k, i*row, row)
			e.Copy(kc.V[li], kc.Len*row, v, i*row, row)
			e.Copy(qi, 0, q, i*H*hd, H*hd)
			e.Attention(oi, qi, kc.K[li], kc.V[li], AttnArgs{B: 1, T: 1, Heads: H, KVHeads: KVH, HeadDim: hd,
				S: kc.Cap, Pos0: kc.Len, Scale: scale})
			e.Copy(att, i*H*hd, oi, 0, H*hd)
		}
		e.Free(q)
		e.Free(k)
		e.Free(v)
		ao := e.Alloc(N * D) // [N, D]
		re.MatMulRows(ao, att, lw.O, N, H*hd, D)
		e.Free(att)
		xMid := e.Alloc(N * D) // [N, D]
		e.Add(xMid, x, ao, N*D)
		e.Free(ao)
		e.Free(x)
		h2 := e.Alloc(N * D) // [N, D]
		e.RMSNorm(h2, xMid, lw.PostNorm, N, D, eps)
		gate, up, act := e.Alloc(N*F), e.Alloc(N*F), e.Alloc(N*F) // [N, F] each
		re.MatMulRows(gate, h2, lw.FFN.Gate, N, D, F)
		re.MatMulRows(up, h2, lw.FFN.Up, N, D, F)
		e.Free(h2)
		re.SwiGLURows(act, gate, up, N, F)
		e.Free(gate)
		e.Free(up)
		f := e.Alloc(N * D) // [N, D]
		re.MatMulRows(f, act, lw.FFN.Down, N, F, D)
		e.Free(act)
		x = e.Alloc(N * D) // [N, D]
		e.Add(x, xMid, f, N*D)
		e.Free(xMid)
		e.Free(f)
	}
	e.Free(qi)
	e.Free(oi)
	for _, kc := range caches {
		kc.Len++
	}
	xf := e.Alloc(N * D) // [N, D]
	e.RMSNorm(xf, x, m.W.Norm, N, D, eps)
	e.Free(x)
	logits := e.Alloc(N * c.Vocab) // [N, V]
	re.MatMulRows(logits, xf, m.W.Head(), N, D, c.Vocab)
	e.Free(xf)
	return logits, nil
}

// stepOneByOne is ForwardStep as one Forward per sequence.
func (m *Model) stepOneByOne(ids []int32, caches []*KVCache) (Tensor, error) {
	e, V := m.Engine, m.Config.Vocab
	logits := e.Alloc(len(ids) * V) // [N, V]
	for i, kc := range caches {
		l, err := m.Forward(ids[i:i+1], 1, ForwardOptions{Cache: kc, LastOnly: true}) // [1, V]
		if err != nil {
			e.Free(logits)
			return nil, err
		}
		e.Copy(logits, i*V, l, 0, V)
		e.Free(l)
	}
	return logits, nil
}
