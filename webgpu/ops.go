package webgpu

import (
	"fmt"
	"math"

	"github.com/minimind-go/minimind/model"
)

// Every op checks its sizes against the tensors it was given and records an
// error (see Err) instead of panicking or letting the device read out of
// bounds.

// need checks that tensor t (argument arg of op) holds at least n elements.
func (e *Engine) need(op, arg string, t *Tensor, n int) bool {
	if t == nil || e.err != nil {
		return false
	}
	if n < 0 || t.n < n {
		e.fail(fmt.Errorf("webgpu: %s: %s has %d elements, the op needs %d", op, arg, t.n, n))
		return false
	}
	return true
}

// u32s converts host int32 data for the aux arena, checking each value is in [0, limit).
func (e *Engine) u32s(op, what string, v []int32, limit int) ([]uint32, bool) {
	out := make([]uint32, len(v))
	for i, x := range v {
		if x < 0 || int(x) >= limit {
			e.fail(fmt.Errorf("webgpu: %s: %s[%d] = %d is outside [0, %d)", op, what, i, x, limit))
			return nil, false
		}
		out[i] = uint32(x)
	}
	return out, true
}

// Copy implements model.Engine.
func (e *Engine) Copy(dst model.Tensor, dstOff int, src model.Tensor, srcOff, n int) {
	d, s := e.tensor("Copy", "dst", dst), e.tensor("Copy", "src", src)
	if d == nil || s == nil || n == 0 {
		return
	}
	if dstOff < 0 || srcOff < 0 || n < 0 || !e.need("Copy", "dst", d, dstOff+n) || !e.need("Copy", "src", s, srcOff+n) {
		e.fail(fmt.Errorf("webgpu: Copy: bad range dst[%d:%d] src[%d:%d] (lengths %d, %d)", dstOff, dstOff+n, srcOff, srcOff+n, d.n, s.n))
		return
	}
	x, y := e.fold((n + 255) / 256)
	e.launch("Copy", "copy", []uint32{uint32(n), uint32(srcOff), uint32(dstOff), 0}, nil, nil,
		[]arg{in(s), out(d, dstOff == 0 && n == d.n)}, x, y, 1)
}

// Embed implements model.Engine.
func (e *Engine) Embed(outT, table model.Tensor, ids []int32, dim int) {
	o, tb := e.tensor("Embed", "out", outT), e.tensor("Embed", "table", table)
	if o == nil || tb == nil || len(ids) == 0 || dim <= 0 {
		return
	}
	if !e.need("Embed", "out", o, len(ids)*dim) {
		return
	}
	aux, ok := e.u32s("Embed", "ids", ids, tb.n/dim)
	if !ok {
		return
	}
	// o [len(ids), dim], tb [V, dim]
	x, y := e.fold((len(ids)*dim + 255) / 256)
	e.launch("Embed", "embed", []uint32{uint32(len(ids)), uint32(dim), 0, 0}, aux, []int{2},
		[]arg{in(tb), out(o, len(ids)*dim == o.n)}, x, y, 1)
}

// RMSNorm implements model.Engine.
func (e *Engine) RMSNorm(outT, xT, wT model.Tensor, rows, dim int, eps float32) {
	o, x, w := e.tensor("RMSNorm", "out", outT), e.tensor("RMSNorm", "x", xT), e.tensor("RMSNorm", "w", wT)
	if o == nil || x == nil || w == nil || rows <= 0 || dim <= 0 {
		return
	}
	if !e.need("RMSNorm", "x", x, rows*dim) || !e.need("RMSNorm", "out", o, rows*dim) || !e.need("RMSNorm", "w", w, dim) {
		return
	}
	// x, o [rows, dim], w [dim]
	gx, gy := e.fold(rows)
	e.launch("RMSNorm", "rmsnorm", []uint32{uint32(rows), uint32(dim), math.Float32bits(eps), 0}, nil, nil,
		[]arg{in(x), in(w), out(o, rows*dim == o.n)}, gx, gy, 1)
}

// matvecRows is the largest n served by the matrix-vector shaders.
const matvecRows = 4

// MatMul implements model.Engine.
func (e *Engine) MatMul(outT, xT, wT model.Tensor, n, k, m int) {
	o, x, w := e.tensor("MatMul", "out", outT), e.tensor("MatMul", "x", xT), e.tensor("MatMul", "w", wT)
	if o == nil || x == nil || w == nil || n <= 0 || m <= 0 {
		return
	}
	if !e.need("MatMul", "x", x, n*k) || !e.need("MatMul", "w", w, m*k) || !e.need("MatMul", "out", o, n*m) {
		return
	}
	if k <= 0 {
		e.fail(fmt.Errorf("webgpu: MatMul: k = %d", k))
		return
	}
	// x [n, k], w [m, k], o [n, m]
	params := []uint32{uint32(n), uint32(k), uint32(m), 0}
	full := n*m == o.n
	wArg := in(w)
	suffix := ""
	if e.f16 && k%4 == 0 {
		if hb := e.halfOf(w); hb != nil {
			wArg, suffix = raw(hb, false), "_f16"
		}
	}
	if e.err != nil {
		return
	}
	if n <= matvecRows && k%4 == 0 {
		gx, gy := e.fold((m + 63) / 64)
		e.launch("MatMul", "matvec"+suffix, params, nil, nil, []arg{in(x), wArg, out(o, full)}, gx, gy, 1)
		return
	}
	shader := "matmul"
	if e.regMatmul && k%4 == 0 {
		shader = "matmul_reg"
	}
	if (m+63)/64 > int(e.info.MaxComputeWorkgroupsPerDimension) || (n+63)/64 > int(e.info.MaxComputeWorkgroupsPerDimension) {
		e.fail(fmt.Errorf("webgpu: MatMul: [%d, %d]·[%d, %d]ᵀ needs more workgroups than the adapter's maxComputeWorkgroupsPerDimension (%d)",
			n, k, m, k, e.info.MaxComputeWorkgroupsPerDimension))
		return
	}
	e.launch("MatMul", shader+suffix, params, nil, nil, []arg{in(x), wArg, out(o, full)},
		uint32((m+63)/64), uint32((n+63)/64), 1)
}

// halfOf returns the packed f16 copy of w, converting it on the device when
// missing or stale.
func (e *Engine) halfOf(w *Tensor) *buffer {
	if w.half != nil && w.halfVer == w.version {
		return w.half
	}
	if w.half == nil {
		b, _, err := e.getBuffer(e.pooledSize(bufBytes((w.n + 1) / 2)))
		if err != nil {
			e.fail(fmt.Errorf("webgpu: MatMul: f16 copy of a weight of %d floats: %w", w.n, err))
			return nil
		}
		w.half = b
	}
	words := (w.n + 1) / 2
	x, y := e.fold((words + 255) / 256)
	e.launch("MatMul", "pack_f16", []uint32{uint32(w.n), 0, 0, 0}, nil, nil, []arg{in(w), raw(w.half, true)}, x, y, 1)
	w.halfVer = w.version
	return w.half
}

// RoPE implements model.Engine.
func (e *Engine) RoPE(xT, cosT, sinT model.Tensor, pos []int32, heads, hd int) {
	x, c, s := e.tensor("RoPE", "x", xT), e.tensor("RoPE", "cos", cosT), e.tensor("RoPE", "sin", sinT)
	if x == nil || c == nil || s == nil || len(pos) == 0 || heads <= 0 || hd <= 0 {
		return
	}
	if hd%2 != 0 {
		e.fail(fmt.Errorf("webgpu: RoPE: head dim %d is odd", hd))
		return
	}
	if !e.need("RoPE", "x", x, len(pos)*heads*hd) || !e.need("RoPE", "sin", s, c.n) {
		return
	}
	aux, ok := e.u32s("RoPE", "pos", pos, c.n/(hd/2))
	if !ok {
		return
	}
	// x [len(pos), heads, hd] in place; c, s [maxPos, hd/2]
	gx, gy := e.fold((len(pos)*heads*hd/2 + 255) / 256)
	e.launch("RoPE", "rope", []uint32{uint32(len(pos)), uint32(heads), uint32(hd), 0}, aux, []int{3},
		[]arg{out(x, false), in(c), in(s)}, gx, gy, 1)
}

// groupedScratchBytes caps the probabilities scratch of the grouped
// attention kernel; longer prefills use the online-softmax kernel.
const groupedScratchBytes = 32 << 20

// Attention implements model.Engine.
func (e *Engine) Attention(outT, qT, kT, vT model.Tensor, a model.AttnArgs) {
	const op = "Attention"
	o, q, k, v := e.tensor(op, "out", outT), e.tensor(op, "q", qT), e.tensor(op, "k", kT), e.tensor(op, "v", vT)
	if o == nil || q == nil || k == nil || v == nil {
		return
	}
	B, T, H, KVH, hd, S := a.B, a.T, a.Heads, a.KVHeads, a.HeadDim, a.S
	if B <= 0 || T <= 0 || H <= 0 || KVH <= 0 || hd <= 0 || H%KVH != 0 || a.Pos0 < 0 || a.Pos0+T > S {
		e.fail(fmt.Errorf("webgpu: %s: bad shape B=%d T=%d H=%d KVH=%d hd=%d S=%d Pos0=%d", op, B, T, H, KVH, hd, S, a.Pos0))
		return
	}
	if hd > 256 || hd%4 != 0 {
		e.fail(fmt.Errorf("webgpu: %s: head dim %d is not a multiple of 4 up to 256, as the attention shaders need", op, hd))
		return
	}
	if !e.need(op, "q", q, B*T*H*hd) || !e.need(op, "k", k, B*S*KVH*hd) || !e.need(op, "v", v, B*S*KVH*hd) || !e.need(op, "out", o, B*T*H*hd) {
		return
	}
	if a.Docs != nil && len(a.Docs) != B*T {
		e.fail(fmt.Errorf("webgpu: %s: %d document ids for %d tokens", op, len(a.Docs), B*T))
		return
	}
	width := a.Pos0 + T
	var sc, pr *Tensor
	if a.Scores != nil {
		if sc = e.tensor(op, "Scores", a.Scores); sc == nil || !e.need(op, "Scores", sc, B*H*T*width) {
			return
		}
	}
	if a.Probs != nil {
		if pr = e.tensor(op, "Probs", a.Probs); pr == nil || !e.need(op, "Probs", pr, B*H*T*width) {
			return
		}
	}
	scale := math.Float32bits(a.Scale)
	trace := uint32(0)
	if sc != nil || pr != nil {
		trace = 1
	}
	// Scratch for a missing trace output (the shaders write both).
	var temps []*Tensor
	scratch := func(n int) *Tensor {
		t := e.Alloc(n).(*Tensor)
		temps = append(temps, t)
		return t
	}
	defer func() {
		for _, t := range temps {
			e.Free(t)
		}
	}()

	if T > int(e.info.MaxComputeWorkgroupsPerDimension) {
		e.fail(fmt.Errorf("webgpu: %s: %d queries exceed the adapter's maxComputeWorkgroupsPerDimension (%d)", op, T, e.info.MaxComputeWorkgroupsPerDimension))
		return
	}
	var aux []uint32
	useDocs := uint32(0)
	if a.Docs != nil {
		aux = make([]uint32, len(a.Docs))
		for i, d := range a.Docs {
			aux[i] = uint32(d)
		}
		useDocs = 1
	}
	params := []uint32{uint32(T), uint32(H), uint32(KVH), uint32(hd), uint32(S), uint32(a.Pos0), scale, uint32(width),
		trace, useDocs, 0, 0xff800000}
	G := H / KVH
	n := B * H * T * width // scores/probs elements
	if G <= 8 && G*hd <= 2048 && e.attnScratch > 0 && (pr != nil || uint64(n)*4 <= e.attnScratch) {
		// Grouped kernel: one workgroup per (kv head, query) serves its G
		// query heads, with the probabilities in pr (or a scratch buffer).
		if pr == nil {
			pr = scratch(n)
		}
		scArg := raw(e.dummy[0], true)
		if sc != nil {
			scArg = out(sc, n == sc.n)
		}
		e.launch(op, "attention_decode", params, aux, []int{10},
			[]arg{in(q), in(k), in(v), out(o, B*T*H*hd == o.n), scArg, out(pr, n == pr.n)},
			uint32(KVH), uint32(T), uint32(B))
		return
	}
	scArg, prArg := raw(e.dummy[0], true), raw(e.dummy[1], true)
	if trace != 0 {
		if sc == nil {
			sc = scratch(n)
		}
		if pr == nil {
			pr = scratch(n)
		}
		scArg, prArg = out(sc, n == sc.n), out(pr, n == pr.n)
	}
	e.launch(op, "attention", params, aux, []int{10},
		[]arg{in(q), in(k), in(v), out(o, B*T*H*hd == o.n), scArg, prArg},
		uint32(T), uint32(H), uint32(B))
}

// SwiGLU implements model.Engine.
func (e *Engine) SwiGLU(outT, gate, up model.Tensor, n int) {
	o, g, u := e.tensor("SwiGLU", "out", outT), e.tensor("SwiGLU", "gate", gate), e.tensor("SwiGLU", "up", up)
	if o == nil || g == nil || u == nil || n <= 0 {
		return
	}
	if !e.need("SwiGLU", "gate", g, n) || !e.need("SwiGLU", "up", u, n) || !e.need("SwiGLU", "out", o, n) {
		return
	}
	x, y := e.fold((n + 255) / 256)
	e.launch("SwiGLU", "swiglu", []uint32{uint32(n), 0, 0, 0}, nil, nil, []arg{in(g), in(u), out(o, n == o.n)}, x, y, 1)
}

// Add implements model.Engine.
func (e *Engine) Add(outT, aT, bT model.Tensor, n int) {
	o, a, b := e.tensor("Add", "out", outT), e.tensor("Add", "a", aT), e.tensor("Add", "b", bT)
	if o == nil || a == nil || b == nil || n <= 0 {
		return
	}
	if !e.need("Add", "a", a, n) || !e.need("Add", "b", b, n) || !e.need("Add", "out", o, n) {
		return
	}
	x, y := e.fold((n + 255) / 256)
	e.launch("Add", "add", []uint32{uint32(n), 0, 0, 0}, nil, nil, []arg{in(a), in(b), out(o, n == o.n)}, x, y, 1)
}

// Softmax implements model.Engine.
func (e *Engine) Softmax(outT, xT model.Tensor, rows, cols int) {
	o, x := e.tensor("Softmax", "out", outT), e.tensor("Softmax", "x", xT)
	if o == nil || x == nil || rows <= 0 || cols <= 0 {
		return
	}
	if !e.need("Softmax", "x", x, rows*cols) || !e.need("Softmax", "out", o, rows*cols) {
		return
	}
	gx, gy := e.fold(rows)
	e.launch("Softmax", "softmax", []uint32{uint32(rows), uint32(cols), 0, 0}, nil, nil,
		[]arg{in(x), out(o, rows*cols == o.n)}, gx, gy, 1)
}

// Gather implements model.Engine.
func (e *Engine) Gather(outT, xT model.Tensor, rows []int32, dim int) {
	o, x := e.tensor("Gather", "out", outT), e.tensor("Gather", "x", xT)
	if o == nil || x == nil || len(rows) == 0 || dim <= 0 {
		return
	}
	if !e.need("Gather", "out", o, len(rows)*dim) {
		return
	}
	aux, ok := e.u32s("Gather", "rows", rows, x.n/dim)
	if !ok {
		return
	}
	gx, gy := e.fold((len(rows)*dim + 255) / 256)
	e.launch("Gather", "gather", []uint32{uint32(len(rows)), uint32(dim), 0, 0}, aux, []int{2},
		[]arg{in(x), out(o, len(rows)*dim == o.n)}, gx, gy, 1)
}

// ScatterAdd implements model.Engine.
func (e *Engine) ScatterAdd(outT, xT model.Tensor, rows []int32, w []float32, dim int) {
	o, x := e.tensor("ScatterAdd", "out", outT), e.tensor("ScatterAdd", "x", xT)
	if o == nil || x == nil || len(rows) == 0 || dim <= 0 {
		return
	}
	if len(w) != len(rows) {
		e.fail(fmt.Errorf("webgpu: ScatterAdd: %d weights for %d rows", len(w), len(rows)))
		return
	}
	if !e.need("ScatterAdd", "x", x, len(rows)*dim) {
		return
	}
	ru, ok := e.u32s("ScatterAdd", "rows", rows, o.n/dim)
	if !ok {
		return
	}
	serial := uint32(0)
	seen := make(map[uint32]bool, len(ru))
	for _, r := range ru {
		if seen[r] {
			serial = 1
			break
		}
		seen[r] = true
	}
	aux := make([]uint32, 0, 2*len(rows))
	aux = append(aux, ru...)
	for _, v := range w {
		aux = append(aux, math.Float32bits(v))
	}
	work := len(rows) * dim
	if serial != 0 {
		work = dim
	}
	gx, gy := e.fold((work + 255) / 256)
	e.launch("ScatterAdd", "scatter_add",
		[]uint32{uint32(len(rows)), uint32(dim), 0, uint32(len(rows)), serial, 0, 0, 0}, aux, []int{2, 3},
		[]arg{in(x), out(o, false)}, gx, gy, 1)
}
