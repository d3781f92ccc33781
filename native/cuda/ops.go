//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"math"
	"slices"

	"github.com/minimind-go/minimind/model"
)

// reads clears dirty inputs (logically zero) before a kernel reads them.
func (e *Engine) reads(ts ...*Tensor) {
	for _, t := range ts {
		if t != nil {
			e.clean(t)
		}
	}
}

// checkRows records an error unless every index is in [0, bound).
func (e *Engine) checkRows(op, what string, idx []int32, bound int) bool {
	for i, r := range idx {
		if r < 0 || int(r) >= bound {
			e.fail(fmt.Errorf("cuda: %s: %s %d at index %d is outside [0, %d)", op, what, r, i, bound))
			return false
		}
	}
	return true
}

// positive records an error unless every named size is > 0.
func (e *Engine) positive(op string, kv ...any) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if v, _ := kv[i+1].(int); v <= 0 {
			e.fail(fmt.Errorf("cuda: %s: %v must be > 0, got %v", op, kv[i], kv[i+1]))
			return false
		}
	}
	return true
}

// Embed implements model.Engine.
func (e *Engine) Embed(out, table model.Tensor, ids []int32, dim int) {
	if !e.positive("Embed", "dim", dim) {
		return
	}
	o := e.tensor("Embed", "out", out, len(ids)*dim)
	tb := e.tensor("Embed", "table", table, dim)
	if o == nil || tb == nil || !e.checkRows("Embed", "token id", ids, tb.n/dim) {
		return
	}
	e.gather("Embed", o, tb, ids, nil, dim)
}

// gather runs out[i, :] = w[i]·x[rows[i], :] (w nil: a copy).
func (e *Engine) gather(op string, o, x *Tensor, rows []int32, w []float32, dim int) {
	e.flush()
	n := len(rows)
	if n == 0 {
		return
	}
	e.reads(x)
	rp := e.upInts(rows)
	var wp devPtr
	var wsize int
	if w != nil {
		wp, wsize = e.upWords(floatWords(w))
	}
	e.launch("mm_gather", e.elemGrid(int64(n)*int64(dim)), block256, ptrArg(o), ptrArg(x), uint64(rp), uint64(wp),
		i32(n), i32(dim))
	e.freeRaw(wp, wsize)
	e.wrote(o, n*dim)
}

func floatWords(f []float32) []uint32 {
	w := make([]uint32, len(f))
	for i, v := range f {
		w[i] = math.Float32bits(v)
	}
	return w
}

// RMSNorm implements model.Engine. When the previous op was an Add whose
// sum is x, both run as one kernel (mm_rmsnorm with b set).
func (e *Engine) RMSNorm(out, x, w model.Tensor, rows, dim int, eps float32) {
	if !e.positive("RMSNorm", "rows", rows, "dim", dim) {
		return
	}
	o := e.tensor("RMSNorm", "out", out, rows*dim)
	xt := e.tensor("RMSNorm", "x", x, rows*dim)
	wt := e.tensor("RMSNorm", "w", w, dim)
	if o == nil || xt == nil || wt == nil {
		return
	}
	if p := e.pend; p != nil && p.kind == pendAdd && p.out == xt && p.n == rows*dim {
		e.pend = nil
		e.reads(p.a, p.b, wt)
		e.launch("mm_rmsnorm", warpRows(rows), block256, ptrArg(o), ptrArg(p.out), ptrArg(p.a), ptrArg(p.b),
			ptrArg(wt), i32(rows), i32(dim), f32a(eps))
		e.wrote(p.out, p.n)
		e.wrote(o, rows*dim)
		e.stats.Fused++
		e.releaseDeferred()
		return
	}
	e.flush()
	e.reads(xt, wt)
	e.launch("mm_rmsnorm", warpRows(rows), block256, ptrArg(o), 0, ptrArg(xt), 0, ptrArg(wt), i32(rows), i32(dim),
		f32a(eps))
	e.wrote(o, rows*dim)
}

// MatMul implements model.Engine: out[n, m] = x[n, k]·w[m, k]ᵀ.
func (e *Engine) MatMul(out, x, w model.Tensor, n, k, m int) {
	o := e.tensor("MatMul", "out", out, n*m)
	xt := e.tensor("MatMul", "x", x, n*k)
	wt := e.tensor("MatMul", "w", w, m*k)
	if o == nil || xt == nil || wt == nil {
		return
	}
	e.flush()
	e.gemm("MatMul", o, xt, wt, gemmShape{M: n, N: m, K: k, LDA: k, LDB: k, LDC: m, TransB: true}, false)
}

// rope rotates x in place (inverse: the backward rotation).
func (e *Engine) rope(op string, x, cos, sin model.Tensor, pos []int32, heads, hd int, inverse bool) {
	if !e.positive(op, "heads", heads, "head_dim", hd) {
		return
	}
	if hd%2 != 0 {
		e.fail(fmt.Errorf("cuda: %s: head_dim %d is odd", op, hd))
		return
	}
	xt := e.tensor(op, "x", x, len(pos)*heads*hd)
	ct := e.tensor(op, "cos", cos, hd/2)
	st := e.tensor(op, "sin", sin, hd/2)
	if xt == nil || ct == nil || st == nil || !e.checkRows(op, "position", pos, min(ct.n, st.n)/(hd/2)) {
		return
	}
	e.flush()
	if len(pos) == 0 {
		return
	}
	e.reads(xt, ct, st)
	pp := e.upInts(pos)
	inv := 0
	if inverse {
		inv = 1
	}
	e.launch("mm_rope", e.elemGrid(int64(len(pos))*int64(heads*hd/2)), block256, ptrArg(xt), ptrArg(ct), ptrArg(st),
		uint64(pp), i32(len(pos)), i32(heads), i32(hd), i32(inv))
	xt.ver++
}

// RoPE implements model.Engine.
func (e *Engine) RoPE(x, cos, sin model.Tensor, pos []int32, heads, hd int) {
	e.rope("RoPE", x, cos, sin, pos, heads, hd, false)
}

// attnSaved keeps what the forward pass computed for AttentionBackward:
// the output and the logsumexp of each query row, valid while the inputs
// and the output are unchanged.
type attnSaved struct {
	lse              devPtr // [B, T, H]
	lseSize          int
	out              *Tensor
	qv, kv, vv, ov   uint64
	k, v             *Tensor
	b, t, h, kvh, hd int
	docs             []int32
}

// attnCheck validates AttnArgs and the tensor sizes.
func (e *Engine) attnCheck(op string, a model.AttnArgs, out, q, k, v model.Tensor) (o, qt, kt, vt *Tensor, hdp int, ok bool) {
	if !e.positive(op, "B", a.B, "T", a.T, "heads", a.Heads, "kv heads", a.KVHeads, "head_dim", a.HeadDim, "S", a.S) {
		return
	}
	if a.Heads%a.KVHeads != 0 || a.Pos0 < 0 || a.Pos0+a.T > a.S {
		e.fail(fmt.Errorf("cuda: %s: %d heads over %d kv heads, positions %d..%d of %d", op, a.Heads, a.KVHeads, a.Pos0, a.Pos0+a.T, a.S))
		return
	}
	if a.Docs != nil && (len(a.Docs) != a.B*a.T || a.Pos0 != 0) {
		e.fail(fmt.Errorf("cuda: %s: %d document ids for %d tokens (and a cache offset of %d)", op, len(a.Docs), a.B*a.T, a.Pos0))
		return
	}
	hdp, err := attnVariant(a.HeadDim)
	if err != nil {
		e.fail(err)
		return
	}
	nq := a.B * a.T * a.Heads * a.HeadDim
	nkv := a.B * a.S * a.KVHeads * a.HeadDim
	o = e.tensor(op, "out", out, nq)
	qt = e.tensor(op, "q", q, nq)
	kt = e.tensor(op, "k", k, nkv)
	vt = e.tensor(op, "v", v, nkv)
	return o, qt, kt, vt, hdp, o != nil && qt != nil && kt != nil && vt != nil
}

// Attention implements model.Engine (flash style: no T×T buffer).
func (e *Engine) Attention(out, q, k, v model.Tensor, a model.AttnArgs) {
	o, qt, kt, vt, hdp, ok := e.attnCheck("Attention", a, out, q, k, v)
	if !ok {
		return
	}
	var sc, pr *Tensor
	if a.Scores != nil || a.Probs != nil {
		nsp := a.B * a.Heads * a.T * (a.Pos0 + a.T)
		sc = e.tensor("Attention", "Scores", a.Scores, nsp)
		pr = e.tensor("Attention", "Probs", a.Probs, nsp)
		if sc == nil || pr == nil {
			return
		}
	}
	e.flush()
	e.reads(qt, kt, vt)
	docs := e.upInts(a.Docs)
	B, T, H, KVH, hd := a.B, a.T, a.Heads, a.KVHeads, a.HeadDim
	// Training-shaped calls (no cache) keep the logsumexp for the backward pass.
	var lse devPtr
	var lseSize int
	if a.Pos0 == 0 && a.S == a.T {
		var err error
		if lse, lseSize, err = e.allocRaw(4 * B * T * H); err != nil {
			e.fail(err)
			return
		}
	}
	e.attnFwd(hdp, uint64(o.ptr), uint64(lse), qt, kt, vt, docs, a)
	e.wrote(o, B*T*H*hd)
	if sc != nil {
		e.launch("mm_attn_probs", dim3{uint32(T), uint32(H), uint32(B)}, dim3{attnThreads, 1, 1}, ptrArg(sc), ptrArg(pr),
			ptrArg(qt), ptrArg(kt), uint64(docs), i32(T), i32(H), i32(KVH), i32(hd), i32(a.S), i32(a.Pos0), f32a(a.Scale))
		e.wrote(sc, a.B*a.Heads*a.T*(a.Pos0+a.T))
		e.wrote(pr, a.B*a.Heads*a.T*(a.Pos0+a.T))
	}
	if old := e.attn[qt]; old != nil {
		e.freeRaw(old.lse, old.lseSize)
		delete(e.attn, qt)
	}
	if lse != 0 {
		e.attn[qt] = &attnSaved{lse: lse, lseSize: lseSize, out: o, qv: qt.ver, kv: kt.ver, vv: vt.ver, ov: o.ver,
			k: kt, v: vt, b: B, t: T, h: H, kvh: KVH, hd: hd, docs: slices.Clone(a.Docs)}
	}
}

// tensorCores reports whether attention of these arguments runs on the
// tensor-core kernels (attention_tc.cu): bf16 matrix products and no KV cache.
func (e *Engine) tensorCores(a model.AttnArgs) bool {
	return e.opts.Precision == BF16 && a.Pos0 == 0 && a.S == a.T
}

// attnFwd launches the forward kernel: out and (unless 0) lse.
func (e *Engine) attnFwd(hdp int, out, lse uint64, q, k, v *Tensor, docs devPtr, a model.AttnArgs) {
	B, T, H, KVH, hd := a.B, a.T, a.Heads, a.KVHeads, a.HeadDim
	name, grid, block := fmt.Sprintf("mm_attn_fwd_%d", hdp), attnGrid(T, H, B), dim3{attnThreads, 1, 1}
	if e.tensorCores(a) {
		name = fmt.Sprintf("mm_attn_tc_fwd_%d", hdp)
		grid, block, _, _ = tcGrid(T, H, KVH, B, hdp)
	}
	e.launch(name, grid, block, out, lse, ptrArg(q), ptrArg(k), ptrArg(v), uint64(docs), i32(T), i32(H), i32(KVH),
		i32(hd), i32(a.S), i32(a.Pos0), f32a(a.Scale))
}

// saved returns the forward results for a backward call with these
// arguments, or nil when they are missing or stale.
func (e *Engine) saved(q, k, v *Tensor, a model.AttnArgs) *attnSaved {
	s := e.attn[q]
	if s == nil || s.out.freed || s.k != k || s.v != v || s.qv != q.ver || s.kv != k.ver || s.vv != v.ver ||
		s.ov != s.out.ver || s.b != a.B || s.t != a.T || s.h != a.Heads || s.kvh != a.KVHeads || s.hd != a.HeadDim ||
		!slices.Equal(s.docs, a.Docs) {
		return nil
	}
	return s
}

// SwiGLU implements model.Engine.
func (e *Engine) SwiGLU(out, gate, up model.Tensor, n int) {
	o := e.tensor("SwiGLU", "out", out, n)
	g := e.tensor("SwiGLU", "gate", gate, n)
	u := e.tensor("SwiGLU", "up", up, n)
	if o == nil || g == nil || u == nil {
		return
	}
	e.flush()
	e.reads(g, u)
	e.launch("mm_swiglu", e.elemGrid(int64(n)), block256, ptrArg(o), ptrArg(g), ptrArg(u), i64(int64(n)))
	e.wrote(o, n)
}

// Add implements model.Engine. The add is held back: when the next op is
// an RMSNorm of the sum, both run as one kernel.
func (e *Engine) Add(out, a, b model.Tensor, n int) {
	o := e.tensor("Add", "out", out, n)
	at := e.tensor("Add", "a", a, n)
	bt := e.tensor("Add", "b", b, n)
	if o == nil || at == nil || bt == nil {
		return
	}
	// RMSNormBackward(dx=tmp, …) then Add(acc, acc, tmp): one kernel.
	if p := e.pend; p != nil && p.kind == pendNormBwd && p.rows*p.dim == n && o != p.dx &&
		((o == at && bt == p.dx) || (o == bt && at == p.dx)) {
		e.pend = nil
		e.normBwdNow(p, o)
		e.stats.Fused++
		e.releaseDeferred()
		return
	}
	e.flush()
	e.pend = &pending{kind: pendAdd, out: o, a: at, b: bt, n: n}
}

func (e *Engine) addNow(o, a, b *Tensor, n int) {
	e.reads(a, b)
	e.launch("mm_add", e.elemGrid(int64(n)), block256, ptrArg(o), ptrArg(a), ptrArg(b), i64(int64(n)))
	e.wrote(o, n)
}

// Softmax implements model.Engine.
func (e *Engine) Softmax(out, x model.Tensor, rows, cols int) {
	if !e.positive("Softmax", "rows", rows, "cols", cols) {
		return
	}
	o := e.tensor("Softmax", "out", out, rows*cols)
	xt := e.tensor("Softmax", "x", x, rows*cols)
	if o == nil || xt == nil {
		return
	}
	e.flush()
	e.reads(xt)
	e.launch("mm_softmax", warpRows(rows), block256, ptrArg(o), ptrArg(xt), i32(rows), i32(cols))
	e.wrote(o, rows*cols)
}

// Gather implements model.Engine.
func (e *Engine) Gather(out, x model.Tensor, rows []int32, dim int) {
	if !e.positive("Gather", "dim", dim) {
		return
	}
	o := e.tensor("Gather", "out", out, len(rows)*dim)
	xt := e.tensor("Gather", "x", x, dim)
	if o == nil || xt == nil || !e.checkRows("Gather", "row", rows, xt.n/dim) {
		return
	}
	e.gather("Gather", o, xt, rows, nil, dim)
}

// ScatterAdd implements model.Engine.
func (e *Engine) ScatterAdd(out, x model.Tensor, rows []int32, w []float32, dim int) {
	if !e.positive("ScatterAdd", "dim", dim) {
		return
	}
	if len(w) != len(rows) {
		e.fail(fmt.Errorf("cuda: ScatterAdd: %d weights for %d rows", len(w), len(rows)))
		return
	}
	o := e.tensor("ScatterAdd", "out", out, dim)
	xt := e.tensor("ScatterAdd", "x", x, len(rows)*dim)
	if o == nil || xt == nil || !e.checkRows("ScatterAdd", "row", rows, o.n/dim) {
		return
	}
	e.scatter(o, xt, rows, w, dim)
}

// scatter runs out[rows[i], :] += w[i]·x[i, :] (w nil: weight 1) with one
// writer per output row (see segments).
func (e *Engine) scatter(o, x *Tensor, rows []int32, w []float32, dim int) {
	e.flush()
	if len(rows) == 0 {
		return
	}
	e.reads(o, x)
	start, items, segRow := segments(rows, o.n/dim)
	nseg, n := len(segRow), len(rows)
	words := make([]uint32, 0, len(start)+n+nseg+len(w)) // [start | items | segRow | w bits]
	for _, s := range [][]int32{start, items, segRow} {
		for _, v := range s {
			words = append(words, uint32(v))
		}
	}
	words = append(words, floatWords(w)...)
	p, size := e.upWords(words)
	if e.err != nil {
		return
	}
	at := func(i int) uint64 { return uint64(p) + uint64(4*i) }
	wp := uint64(0)
	if w != nil {
		wp = at(len(start) + n + nseg)
	}
	e.launch("mm_scatter_seg", dim3{uint32(nseg), uint32(ceilDiv(dim, 256)), 1}, block256, ptrArg(o), ptrArg(x),
		at(0), at(len(start)), at(len(start)+n), wp, i32(nseg), i32(dim))
	e.freeRaw(p, size)
	o.ver++
}
