//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/minimind-go/minimind/model"
)

// Zero implements model.TrainEngine. Zeroing a whole tensor only marks it:
// the next op that reads it clears it, and a matrix product accumulating
// into it simply overwrites it.
func (e *Engine) Zero(t model.Tensor, n int) {
	ct := e.tensor("Zero", "t", t, n)
	if ct == nil || n == 0 {
		return
	}
	e.flush()
	if n == ct.n {
		ct.dirty = true
	} else {
		e.clean(ct)
		if err := e.be.memsetD32(ct.ptr, 0, n); err != nil {
			e.fail(fmt.Errorf("cuda: Zero of %d values: %w", n, err))
		}
	}
	ct.ver++
}

// Scale implements model.TrainEngine.
func (e *Engine) Scale(t model.Tensor, n int, s float32) {
	ct := e.tensor("Scale", "t", t, n)
	if ct == nil || n == 0 {
		return
	}
	e.flush()
	if ct.dirty {
		return // zeros stay zeros
	}
	e.launch("mm_scale", e.elemGrid(int64(n)), block256, ptrArg(ct), i64(int64(n)), f32a(s))
	ct.ver++
}

// SumSquares implements model.TrainEngine: fixed-order partial sums on the
// device (fp64 per block), added on the host in block order, so the result
// does not depend on timing.
func (e *Engine) SumSquares(t model.Tensor, n int) float64 {
	ct := e.tensor("SumSquares", "t", t, n)
	if ct == nil {
		return 0
	}
	e.flush()
	if ct.dirty || n == 0 {
		return 0
	}
	grid := gridStride(int64(n), blockElem, sumsqBlocks)
	p, size, err := e.allocRaw(8 * int(grid.X))
	if err != nil {
		e.fail(err)
		return 0
	}
	defer e.freeRaw(p, size)
	e.launch("mm_sumsq", grid, block256, uint64(p), ptrArg(ct), i64(int64(n)))
	part := make([]float64, grid.X)
	if e.err != nil {
		return 0
	}
	if err := e.be.dtoh(unsafe.Pointer(&part[0]), p, 8*len(part)); err != nil {
		e.fail(fmt.Errorf("cuda: SumSquares: %w", err))
		return 0
	}
	e.stats.Reads++
	var s float64
	for _, v := range part {
		s += v
	}
	return s
}

// AdamW implements model.TrainEngine (PyTorch's arithmetic). When p has a
// bf16 copy for the matrix products, the same kernel refreshes it.
func (e *Engine) AdamW(p, g, m, v model.Tensor, n int, s model.AdamWStep) {
	pt := e.tensor("AdamW", "p", p, n)
	gt := e.tensor("AdamW", "g", g, n)
	mt := e.tensor("AdamW", "m", m, n)
	vt := e.tensor("AdamW", "v", v, n)
	if pt == nil || gt == nil || mt == nil || vt == nil || n == 0 {
		return
	}
	if s.Step < 1 {
		e.fail(fmt.Errorf("cuda: AdamW: step %d (steps count from 1)", s.Step))
		return
	}
	e.flush()
	e.reads(pt, gt, mt, vt)
	decay := 1 - s.LR*s.WeightDecay
	bc1 := 1 - math.Pow(float64(s.Beta1), float64(s.Step))
	bc2 := 1 - math.Pow(float64(s.Beta2), float64(s.Step))
	stepSize := float32(float64(s.LR) / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	half := uint64(0)
	if pt.half != 0 && n == pt.n {
		half = uint64(pt.half)
	}
	e.launch("mm_adamw", e.elemGrid(int64(n)), block256, ptrArg(pt), ptrArg(gt), ptrArg(mt), ptrArg(vt), half,
		i64(int64(n)), f32a(decay), f32a(s.Beta1), f32a(s.Beta2), f32a(s.Eps), f32a(stepSize), f32a(bc2Sqrt))
	pt.ver++
	mt.ver++
	vt.ver++
	if half != 0 {
		pt.hver = pt.ver
	}
}

// CrossEntropy implements model.TrainEngine with one fused kernel per row
// (the probabilities are never stored); the per-row losses come back to the
// host and are summed in float64 in row order.
func (e *Engine) CrossEntropy(dlogits, logits model.Tensor, labels []int32, rows, V int, scale float32) (float64, int) {
	if !e.positive("CrossEntropy", "rows", rows, "vocab", V) {
		return 0, 0
	}
	d := e.tensor("CrossEntropy", "dlogits", dlogits, rows*V)
	x := e.tensor("CrossEntropy", "logits", logits, rows*V)
	if d == nil || x == nil {
		return 0, 0
	}
	if len(labels) < rows {
		e.fail(fmt.Errorf("cuda: CrossEntropy: %d labels for %d rows", len(labels), rows))
		return 0, 0
	}
	count := 0
	for i, l := range labels[:rows] {
		if l == model.IgnoreIndex {
			continue
		}
		if l < 0 || int(l) >= V {
			e.fail(fmt.Errorf("cuda: CrossEntropy: label %d at row %d is outside the vocabulary [0, %d)", l, i, V))
			return 0, 0
		}
		count++
	}
	e.flush()
	e.reads(x)
	lp := e.upInts(labels[:rows])
	loss, size, err := e.allocRaw(4 * rows)
	if err != nil {
		e.fail(err)
		return 0, 0
	}
	defer e.freeRaw(loss, size)
	e.launch("mm_xent", dim3{uint32(rows), 1, 1}, block256, ptrArg(d), uint64(loss), ptrArg(x), uint64(lp), i32(rows),
		i32(V), f32a(scale))
	e.wrote(d, rows*V)
	if e.err != nil {
		return 0, 0
	}
	rl := make([]float32, rows)
	if err := e.be.dtoh(unsafe.Pointer(&rl[0]), loss, 4*rows); err != nil {
		e.fail(fmt.Errorf("cuda: CrossEntropy: %w", err))
		return 0, 0
	}
	e.stats.Reads++
	var sum float64
	for _, v := range rl {
		sum += float64(v)
	}
	return sum, count
}

// EmbedBackward implements model.TrainEngine (deterministic: one writer per
// table row, rows added in token order).
func (e *Engine) EmbedBackward(dtable, dout model.Tensor, ids []int32, dim int) {
	if !e.positive("EmbedBackward", "dim", dim) {
		return
	}
	dt := e.tensor("EmbedBackward", "dtable", dtable, dim)
	do := e.tensor("EmbedBackward", "dout", dout, len(ids)*dim)
	if dt == nil || do == nil || !e.checkRows("EmbedBackward", "token id", ids, dt.n/dim) {
		return
	}
	e.scatter(dt, do, ids, nil, dim)
}

// RMSNormBackward implements model.TrainEngine. The op is held back: when
// the next op adds dx into the residual gradient, both run as one kernel.
func (e *Engine) RMSNormBackward(dx, dw, dout, x, w model.Tensor, rows, dim int, eps float32) {
	if !e.positive("RMSNormBackward", "rows", rows, "dim", dim) {
		return
	}
	n := rows * dim
	dxt := e.tensor("RMSNormBackward", "dx", dx, n)
	dwt := e.tensor("RMSNormBackward", "dw", dw, dim)
	dot := e.tensor("RMSNormBackward", "dout", dout, n)
	xt := e.tensor("RMSNormBackward", "x", x, n)
	wt := e.tensor("RMSNormBackward", "w", w, dim)
	if dxt == nil || dwt == nil || dot == nil || xt == nil || wt == nil {
		return
	}
	if dxt == dot || dxt == xt {
		e.fail(fmt.Errorf("cuda: RMSNormBackward: dx must not alias dout or x"))
		return
	}
	e.flush()
	e.pend = &pending{kind: pendNormBwd, dx: dxt, dw: dwt, dout: dot, x: xt, w: wt, rows: rows, dim: dim, eps: eps}
}

// normBwdNow issues a held-back RMSNormBackward; acc, when set, also
// receives dx added into it.
func (e *Engine) normBwdNow(p *pending, acc *Tensor) {
	e.reads(p.dout, p.x, p.w, acc)
	nb := ceilDiv(p.rows, normBwdRows)
	part, size, err := e.allocRaw(4 * nb * p.dim)
	if err != nil {
		e.fail(err)
		return
	}
	e.launch("mm_rmsnorm_bwd", dim3{uint32(nb), 1, 1}, block256, ptrArg(p.dx), ptrArg(acc), uint64(part),
		ptrArg(p.dout), ptrArg(p.x), ptrArg(p.w), i32(p.rows), i32(p.dim), f32a(p.eps))
	e.reads(p.dw)
	e.launch("mm_colsum_acc", dim3{uint32(ceilDiv(p.dim, 256)), 1, 1}, block256, ptrArg(p.dw), uint64(part), i32(nb),
		i32(p.dim))
	e.freeRaw(part, size)
	e.wrote(p.dx, p.rows*p.dim)
	p.dw.ver++
	if acc != nil {
		acc.ver++
	}
}

// MatMulBackward implements model.TrainEngine.
func (e *Engine) MatMulBackward(dx, dw, dout, x, w model.Tensor, n, k, m int, accX bool) {
	var dwt *Tensor
	if dw != nil { // nil: a frozen weight, no weight gradient
		if dwt = e.tensor("MatMulBackward", "dw", dw, m*k); dwt == nil {
			return
		}
	}
	dot := e.tensor("MatMulBackward", "dout", dout, n*m)
	xt := e.tensor("MatMulBackward", "x", x, n*k)
	wt := e.tensor("MatMulBackward", "w", w, m*k)
	if dot == nil || xt == nil || wt == nil {
		return
	}
	var dxt *Tensor
	if dx != nil {
		if dxt = e.tensor("MatMulBackward", "dx", dx, n*k); dxt == nil {
			return
		}
	}
	e.flush()
	if dxt != nil { // dx[n, k] (+)= dout[n, m]·w[m, k]
		e.gemm("MatMulBackward dx", dxt, dot, wt, gemmShape{M: n, N: k, K: m, LDA: m, LDB: k, LDC: k}, accX)
	}
	if dwt != nil { // dw[m, k] += dout[n, m]ᵀ·x[n, k]
		e.gemm("MatMulBackward dw", dwt, dot, xt, gemmShape{M: m, N: k, K: n, LDA: m, LDB: k, LDC: k, TransA: true}, true)
	}
}

// RoPEBackward implements model.TrainEngine.
func (e *Engine) RoPEBackward(dx, cos, sin model.Tensor, pos []int32, heads, hd int) {
	e.rope("RoPEBackward", dx, cos, sin, pos, heads, hd, true)
}

// AttentionBackward implements model.TrainEngine: flash-style backward in
// three kernels (the rowsum term, dq over key tiles, dk/dv over query
// tiles), reusing the forward's output and logsumexp when they are still
// valid and recomputing them otherwise.
func (e *Engine) AttentionBackward(dq, dk, dv, dout, q, k, v model.Tensor, a model.AttnArgs) {
	if a.Pos0 != 0 || a.S != a.T {
		e.fail(fmt.Errorf("cuda: AttentionBackward needs S = T and no cache offset, got S %d, T %d, offset %d", a.S, a.T, a.Pos0))
		return
	}
	dot, qt, kt, vt, hdp, ok := e.attnCheck("AttentionBackward", a, dout, q, k, v)
	if !ok {
		return
	}
	B, T, H, KVH, hd := a.B, a.T, a.Heads, a.KVHeads, a.HeadDim
	dqt := e.tensor("AttentionBackward", "dq", dq, B*T*H*hd)
	dkt := e.tensor("AttentionBackward", "dk", dk, B*T*KVH*hd)
	dvt := e.tensor("AttentionBackward", "dv", dv, B*T*KVH*hd)
	if dqt == nil || dkt == nil || dvt == nil {
		return
	}
	e.flush()
	e.reads(dot, qt, kt, vt)
	docs := e.upInts(a.Docs)
	var scratch []rawBuf // released after the kernels are queued
	defer func() {
		for _, b := range scratch {
			e.freeRaw(b.p, b.size)
		}
	}()
	alloc := func(bytes int) devPtr {
		p, size, err := e.allocRaw(bytes)
		if err != nil {
			e.fail(err)
			return 0
		}
		scratch = append(scratch, rawBuf{p, size})
		return p
	}
	var out, lse devPtr
	if s := e.saved(qt, kt, vt, a); s != nil {
		out, lse = s.out.ptr, s.lse
	} else { // recompute the forward output and logsumexp
		out, lse = alloc(4*B*T*H*hd), alloc(4*B*T*H)
		e.attnFwd(hdp, uint64(out), uint64(lse), qt, kt, vt, docs, a)
	}
	dvec := alloc(4 * B * T * H)
	if e.err != nil {
		return
	}
	rows := B * T * H
	e.launch("mm_attn_bwd_pre", warpRows(rows), block256, uint64(dvec), ptrArg(dot), uint64(out), i32(rows), i32(hd))
	dqName, dkvName := fmt.Sprintf("mm_attn_bwd_dq_%d", hdp), fmt.Sprintf("mm_attn_bwd_dkdv_%d", hdp)
	qGrid, qBlock, kGrid, kBlock := attnGrid(T, H, B), dim3{attnThreads, 1, 1}, attnGrid(T, KVH, B), dim3{attnThreads, 1, 1}
	if e.tensorCores(a) {
		dqName, dkvName = fmt.Sprintf("mm_attn_tc_dq_%d", hdp), fmt.Sprintf("mm_attn_tc_dkdv_%d", hdp)
		qGrid, qBlock, kGrid, kBlock = tcGrid(T, H, KVH, B, hdp)
	}
	e.launch(dqName, qGrid, qBlock, ptrArg(dqt), ptrArg(dot), uint64(lse), uint64(dvec), ptrArg(qt), ptrArg(kt),
		ptrArg(vt), uint64(docs), i32(T), i32(H), i32(KVH), i32(hd), f32a(a.Scale))
	e.launch(dkvName, kGrid, kBlock, ptrArg(dkt), ptrArg(dvt), ptrArg(dot), uint64(lse), uint64(dvec), ptrArg(qt),
		ptrArg(kt), ptrArg(vt), uint64(docs), i32(T), i32(H), i32(KVH), i32(hd), f32a(a.Scale))
	e.wrote(dqt, B*T*H*hd)
	e.wrote(dkt, B*T*KVH*hd)
	e.wrote(dvt, B*T*KVH*hd)
}

// SwiGLUBackward implements model.TrainEngine.
func (e *Engine) SwiGLUBackward(dgate, dup, dout, gate, up model.Tensor, n int) {
	dg := e.tensor("SwiGLUBackward", "dgate", dgate, n)
	du := e.tensor("SwiGLUBackward", "dup", dup, n)
	do := e.tensor("SwiGLUBackward", "dout", dout, n)
	g := e.tensor("SwiGLUBackward", "gate", gate, n)
	u := e.tensor("SwiGLUBackward", "up", up, n)
	if dg == nil || du == nil || do == nil || g == nil || u == nil {
		return
	}
	e.flush()
	e.reads(do, g, u)
	e.launch("mm_swiglu_bwd", e.elemGrid(int64(n)), block256, ptrArg(dg), ptrArg(du), ptrArg(do), ptrArg(g), ptrArg(u),
		i64(int64(n)))
	e.wrote(dg, n)
	e.wrote(du, n)
}

// RowDot implements model.TrainEngine (waits for the device).
func (e *Engine) RowDot(a, b model.Tensor, rows []int32, dim int) []float32 {
	out := make([]float32, len(rows))
	if !e.positive("RowDot", "dim", dim) {
		return out
	}
	at := e.tensor("RowDot", "a", a, dim)
	bt := e.tensor("RowDot", "b", b, len(rows)*dim)
	if at == nil || bt == nil || !e.checkRows("RowDot", "row", rows, at.n/dim) || len(rows) == 0 {
		return out
	}
	e.flush()
	e.reads(at, bt)
	rp := e.upInts(rows)
	p, size, err := e.allocRaw(4 * len(rows))
	if err != nil {
		e.fail(err)
		return out
	}
	defer e.freeRaw(p, size)
	e.launch("mm_rowdot", warpRows(len(rows)), block256, uint64(p), ptrArg(at), ptrArg(bt), uint64(rp), i32(len(rows)),
		i32(dim))
	if e.err != nil {
		return out
	}
	if err := e.be.dtoh(unsafe.Pointer(&out[0]), p, 4*len(rows)); err != nil {
		e.fail(fmt.Errorf("cuda: RowDot: %w", err))
	}
	e.stats.Reads++
	return out
}

// GatherScaled implements model.TrainEngine.
func (e *Engine) GatherScaled(out, x model.Tensor, rows []int32, w []float32, dim int) {
	if !e.positive("GatherScaled", "dim", dim) {
		return
	}
	if len(w) != len(rows) {
		e.fail(fmt.Errorf("cuda: GatherScaled: %d weights for %d rows", len(w), len(rows)))
		return
	}
	o := e.tensor("GatherScaled", "out", out, len(rows)*dim)
	xt := e.tensor("GatherScaled", "x", x, dim)
	if o == nil || xt == nil || !e.checkRows("GatherScaled", "row", rows, xt.n/dim) {
		return
	}
	e.gather("GatherScaled", o, xt, rows, w, dim)
}

// SoftmaxBackward implements model.TrainEngine.
func (e *Engine) SoftmaxBackward(dx, dy, y model.Tensor, rows, cols int) {
	if !e.positive("SoftmaxBackward", "rows", rows, "cols", cols) {
		return
	}
	dxt := e.tensor("SoftmaxBackward", "dx", dx, rows*cols)
	dyt := e.tensor("SoftmaxBackward", "dy", dy, rows*cols)
	yt := e.tensor("SoftmaxBackward", "y", y, rows*cols)
	if dxt == nil || dyt == nil || yt == nil {
		return
	}
	e.flush()
	e.reads(dyt, yt)
	e.launch("mm_softmax_bwd", warpRows(rows), block256, ptrArg(dxt), ptrArg(dyt), ptrArg(yt), i32(rows), i32(cols))
	e.wrote(dxt, rows*cols)
}
