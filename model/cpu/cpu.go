// Package cpu is the pure-Go CPU engine of the MiniMind model: the reference
// engine that every other engine is checked against. Matrix products run on
// the blocked AVX2/FMA kernels of package gemm (pure Go elsewhere), and ops
// are parallel over the engine's threads.
package cpu

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/gemm"
	"github.com/minimind-go/minimind/model/vmath"
)

// Engine is the CPU engine. Its tensors are *model.Host values. It is safe
// for use by one goroutine at a time. Free hands a tensor's buffer back to
// the engine, which gives it to a later Alloc of the same size (see
// poolMaxBuffer), so a tensor must not be used after it is freed.
type Engine struct {
	threads int
	team    *team      // the threads beyond the caller's (nil with one thread)
	pool    bufferPool // freed buffers, guarded by its own mutex
}

// New returns a CPU engine using the given number of threads (≤ 0: all cores).
func New(threads int) *Engine {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	e := &Engine{threads: threads}
	if threads > 1 {
		e.team = newTeam(threads)
		runtime.AddCleanup(e, (*team).close, e.team) // the helpers end with the engine
	}
	return e
}

var _ model.Engine = (*Engine)(nil)

// Threads returns the number of threads the engine uses.
func (e *Engine) Threads() int { return e.threads }

// Name implements model.Engine.
func (e *Engine) Name() string { return "cpu" }

// Alloc implements model.Engine: a zero-filled tensor, reusing the buffer
// of a freed one of the same size when the engine holds one.
func (e *Engine) Alloc(n int) model.Tensor { return e.alloc(n) }

func (e *Engine) alloc(n int) *model.Host {
	if t := e.pool.get(n); t != nil {
		clear(t.Data)
		return t
	}
	return &model.Host{Data: make([]float32, n)}
}

// Upload implements model.Engine.
func (e *Engine) Upload(data []float32) model.Tensor {
	return &model.Host{Data: append([]float32(nil), data...)}
}

// Read implements model.Engine.
func (e *Engine) Read(t model.Tensor) []float32 { return append([]float32(nil), h(t)...) }

var _ model.ReadToEngine = (*Engine)(nil)

// ReadTo implements model.ReadToEngine.
func (e *Engine) ReadTo(dst []float32, t model.Tensor) []float32 {
	return append(dst[:0], h(t)...)
}

// Free implements model.Engine: a small host tensor's buffer is kept for a
// later Alloc of the same size; the rest is left to the garbage collector.
// Freeing the same tensor twice is harmless.
func (e *Engine) Free(t model.Tensor) {
	if ht, ok := t.(*model.Host); ok {
		e.pool.put(ht)
	}
}

// Copy implements model.Engine.
func (e *Engine) Copy(dst model.Tensor, dstOff int, src model.Tensor, srcOff, n int) {
	copy(h(dst)[dstOff:dstOff+n], h(src)[srcOff:srcOff+n])
}

// h returns the host buffer of a tensor of this engine.
func h(t model.Tensor) []float32 {
	ht, ok := t.(*model.Host)
	if !ok {
		panic(fmt.Sprintf("cpu: tensor of type %T does not belong to the CPU engine", t))
	}
	return ht.Data
}

// serial reports whether parallel(n, cost, …) runs on the calling goroutine
// as one chunk. The ops of a decoding step check it first and call their
// loop directly: a closure handed to parallel escapes to the heap, one
// allocation per call.
func (e *Engine) serial(n, cost int) bool {
	return min(e.threads, n) <= 1 || n*cost < 1<<15
}

// parallel runs fn over [0, n) split into contiguous chunks, one per thread,
// when the work (n·cost scalar ops) is large enough to be worth it.
func (e *Engine) parallel(n, cost int, fn func(lo, hi int)) {
	th := min(e.threads, n)
	if e.serial(n, cost) {
		fn(0, n)
		return
	}
	e.team.Run(th, func(i int) { fn(n*i/th, n*(i+1)/th) })
}

// Embed implements model.Engine.
func (e *Engine) Embed(out, table model.Tensor, ids []int32, dim int) {
	if q, ok := table.(*gemm.QMatrix); ok { // quantized table [V, dim]
		o := h(out)
		for i, id := range ids {
			q.DequantizeRow(o[i*dim:(i+1)*dim], int(id))
		}
		return
	}
	o, tb := h(out), h(table) // o [len(ids), dim], tb [V, dim]
	for i, id := range ids {
		copy(o[i*dim:(i+1)*dim], tb[int(id)*dim:(int(id)+1)*dim])
	}
}

// RMSNorm implements model.Engine.
func (e *Engine) RMSNorm(out, x, w model.Tensor, rows, dim int, eps float32) {
	o, xs, ws := h(out), h(x), h(w) // o, xs [rows, dim], ws [dim]
	if e.serial(rows, dim) {
		rmsNormRows(o, xs, ws, dim, eps, 0, rows)
		return
	}
	e.parallel(rows, dim, func(lo, hi int) { rmsNormRows(o, xs, ws, dim, eps, lo, hi) })
}

// rmsNormRows is RMSNorm for the rows [lo, hi) of xs [rows, dim] into o.
func rmsNormRows(o, xs, ws []float32, dim int, eps float32, lo, hi int) {
	for r := lo; r < hi; r++ {
		xr, or := xs[r*dim:(r+1)*dim], o[r*dim:(r+1)*dim]
		ss := gemm.Dot(xr, xr)
		inv := float32(1 / math.Sqrt(float64(ss/float32(dim)+eps)))
		for i, v := range xr {
			or[i] = ws[i] * (v * inv)
		}
	}
}

// MatMul implements model.Engine. A weight converted by QuantizeWeights
// (*gemm.QMatrix [m, k]) is read in its stored form.
func (e *Engine) MatMul(out, x, w model.Tensor, n, k, m int) {
	q, quant := w.(*gemm.QMatrix)
	if n == 1 && e.team != nil && m >= 32 {
		// One token (decode): the weight rows are split between the
		// engine's threads, when the weight is large enough to repay the
		// hand-over.
		bytes := 4 * m * k
		if quant {
			bytes = len(q.Data)
		}
		if bytes >= teamSplitMinBytes {
			o, xs := h(out), h(x) // o [m], xs [k]
			parts := e.threads
			if quant {
				e.team.Run(parts, func(i int) {
					lo, hi := splitRows(m, parts, i)
					gemm.QNTRange(o, xs, q, 1, lo, hi)
				})
			} else {
				wf := h(w) // [m, k]
				e.team.Run(parts, func(i int) {
					lo, hi := splitRows(m, parts, i)
					gemm.NTStrided(o[lo:hi], m, xs, k, wf[lo*k:], k, 1, hi-lo, k, false, 1)
				})
			}
			return
		}
	}
	if quant {
		gemm.QNT(h(out), h(x), q, n, e.threads)
		return
	}
	gemm.NT(h(out), h(x), h(w), n, m, k, false, e.threads)
}

// teamSplitMinBytes is the smallest weight whose one-token product is split
// between the engine's threads.
const teamSplitMinBytes = 256 << 10

// splitRows returns part i of parts of [0, m), cut at multiples of 16 rows
// (whole groups of the four-row kernels).
func splitRows(m, parts, i int) (lo, hi int) {
	units := (m + 15) / 16
	lo, hi = units*i/parts*16, units*(i+1)/parts*16
	return min(lo, m), min(hi, m)
}

// RoPE implements model.Engine.
func (e *Engine) RoPE(x, cos, sin model.Tensor, pos []int32, heads, hd int) {
	xs, cs, sn := h(x), h(cos), h(sin) // xs [len(pos), heads, hd]; cs, sn [maxPos, hd/2]
	if e.serial(len(pos), heads*hd) {
		ropeRows(xs, cs, sn, pos, heads, hd, 0, len(pos), 1)
		return
	}
	e.parallel(len(pos), heads*hd, func(lo, hi int) { ropeRows(xs, cs, sn, pos, heads, hd, lo, hi, 1) })
}

// ropeRows is RoPE for the tokens [lo, hi) with dir = 1, its transpose
// (the rotation by the opposite angle, for the backward pass) with dir = −1.
func ropeRows(xs, cs, sn []float32, pos []int32, heads, hd, lo, hi int, dir float32) {
	half := hd / 2
	for t := lo; t < hi; t++ {
		c := cs[int(pos[t])*half : (int(pos[t])+1)*half]
		s := sn[int(pos[t])*half : (int(pos[t])+1)*half]
		for hh := range heads {
			v := xs[(t*heads+hh)*hd : (t*heads+hh+1)*hd]
			for i := range half {
				a, b, si := v[i], v[i+half], dir*s[i]
				// x' = x·cos + rotate_half(x)·sin, rotate_half(x) = [-x2, x1]
				v[i] = a*c[i] - b*si
				v[i+half] = b*c[i] + a*si
			}
		}
	}
}

// Attention implements model.Engine. Per (sequence, head) it forms the
// score block S[T, width] = q·kᵀ·scale with one strided GEMM, masks and
// normalises it row by row, and multiplies by v with a second GEMM.
func (e *Engine) Attention(out, q, k, v model.Tensor, a model.AttnArgs) {
	if e.serial(a.B*a.Heads, a.T*(a.Pos0+a.T)*a.HeadDim) {
		e.attentionHeads(out, q, k, v, &a, 0, a.B*a.Heads)
		return
	}
	e.attentionParallel(out, q, k, v, a)
}

// attentionParallel is Attention split between the engine's threads; it
// takes its own copy of a, which the goroutines share.
func (e *Engine) attentionParallel(out, q, k, v model.Tensor, a model.AttnArgs) {
	e.parallel(a.B*a.Heads, a.T*(a.Pos0+a.T)*a.HeadDim, func(lo, hi int) { e.attentionHeads(out, q, k, v, &a, lo, hi) })
}

// attentionHeads is Attention for the (sequence, head) pairs [lo, hi).
func (e *Engine) attentionHeads(out, q, k, v model.Tensor, a *model.AttnArgs, lo, hi int) {
	o, qs, ks, vs := h(out), h(q), h(k), h(v)
	// qs [B, T, H, hd]; ks, vs [B, S, KVH, hd]; o [B, T, H·hd]
	H, KVH, hd, T, S := a.Heads, a.KVHeads, a.HeadDim, a.T, a.S
	group := H / KVH
	width := a.Pos0 + T // keys visible to the last query
	var scOut, prOut []float32
	if a.Scores != nil {
		scOut, prOut = h(a.Scores), h(a.Probs) // [B, H, T, width]
	}
	// A scratch tensor, back to the pool at the end; its length is rounded
	// up to a power of two so that the steps of a decode, whose width grows
	// by one every token, share a few sizes.
	pt := e.alloc(1 << bits.Len(uint(T*width-1)))
	p := pt.Data[:T*width] // [T, width] scores, then probabilities
	for bh := lo; bh < hi; bh++ {
		b, hh := bh/H, bh%H
		g := hh / group
		qh := qs[(b*T*H+hh)*hd:]  // rows t at stride H·hd
		kg := ks[(b*S*KVH+g)*hd:] // rows j at stride KVH·hd
		vg := vs[(b*S*KVH+g)*hd:] // rows j at stride KVH·hd
		oh := o[(b*T*H+hh)*hd:]   // rows t at stride H·hd
		gemm.NTStrided(p, width, qh, H*hd, kg, KVH*hd, T, width, hd, false, 1)
		for t := range T {
			row := p[t*width : (t+1)*width]
			n := a.Pos0 + t + 1 // visible keys 0..n-1
			for j := range n {
				row[j] *= a.Scale
				if a.Docs != nil && a.Docs[b*T+j] != a.Docs[b*T+t] {
					row[j] = float32(math.Inf(-1))
				}
			}
			for j := n; j < width; j++ {
				row[j] = float32(math.Inf(-1))
			}
			if scOut != nil {
				copy(scOut[((b*H+hh)*T+t)*width:], row)
			}
			softmaxRow(row[:n], row[:n])
			clear(row[n:])
			if prOut != nil {
				copy(prOut[((b*H+hh)*T+t)*width:], row)
			}
		}
		gemm.NNStrided(oh, H*hd, p, width, vg, KVH*hd, T, hd, width, false, 1)
	}
	e.Free(pt)
}

// SwiGLU implements model.Engine.
func (e *Engine) SwiGLU(out, gate, up model.Tensor, n int) {
	o, g, u := h(out), h(gate), h(up)
	if e.serial(n, 16) {
		swigluRange(o, g, u, 0, n)
		return
	}
	e.parallel(n, 16, func(lo, hi int) { swigluRange(o, g, u, lo, hi) })
}

// swigluRange computes SwiGLU for the elements [lo, hi), e^(−x) in blocks of
// sigBlock from lo.
func swigluRange(o, g, u []float32, lo, hi int) {
	var ebuf [sigBlock]float32
	for b := lo; b < hi; b += sigBlock {
		end := min(b+sigBlock, hi)
		ex := negExp(ebuf[:end-b], g[b:end]) // e^(−x)
		for j, en := range ex {
			o[b+j] = g[b+j] / (1 + en) * u[b+j]
		}
	}
}

// sigBlock is the block of SiLU inputs whose e^(−x) is computed at once.
const sigBlock = 256

// negExp sets buf[i] = e^(−x[i]) and returns buf (len(buf) == len(x)).
func negExp(buf, x []float32) []float32 {
	for i, v := range x {
		buf[i] = -v
	}
	vmath.ExpShift(buf, buf, 0)
	return buf
}

// Add implements model.Engine.
func (e *Engine) Add(out, a, b model.Tensor, n int) {
	o, x, y := h(out), h(a), h(b)
	for i := range n {
		o[i] = x[i] + y[i]
	}
}

// Softmax implements model.Engine.
func (e *Engine) Softmax(out, x model.Tensor, rows, cols int) {
	o, xs := h(out), h(x)
	if e.serial(rows, cols*8) {
		softmaxRows(o, xs, cols, 0, rows)
		return
	}
	e.parallel(rows, cols*8, func(lo, hi int) { softmaxRows(o, xs, cols, lo, hi) })
}

// softmaxRows is Softmax for the rows [lo, hi).
func softmaxRows(o, xs []float32, cols, lo, hi int) {
	for r := lo; r < hi; r++ {
		softmaxRow(o[r*cols:(r+1)*cols], xs[r*cols:(r+1)*cols])
	}
}

// softmaxRow writes softmax(x) to o (o may alias x).
func softmaxRow(o, x []float32) {
	// The maximum over four running maxima (independent comparisons; a NaN
	// is skipped here and makes the whole row NaN through the sum below).
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+4 <= len(x); i += 4 {
		if x[i] > m0 {
			m0 = x[i]
		}
		if x[i+1] > m1 {
			m1 = x[i+1]
		}
		if x[i+2] > m2 {
			m2 = x[i+2]
		}
		if x[i+3] > m3 {
			m3 = x[i+3]
		}
	}
	for ; i < len(x); i++ {
		if x[i] > m0 {
			m0 = x[i]
		}
	}
	maxv := max(m0, m1, m2, m3)
	inv := float32(1 / vmath.ExpShift(o, x, maxv))
	gemm.Scale(inv, o[:len(x)])
}

// Gather implements model.Engine.
func (e *Engine) Gather(out, x model.Tensor, rows []int32, dim int) {
	o, xs := h(out), h(x)
	for i, r := range rows {
		copy(o[i*dim:(i+1)*dim], xs[int(r)*dim:(int(r)+1)*dim])
	}
}

// ScatterAdd implements model.Engine.
func (e *Engine) ScatterAdd(out, x model.Tensor, rows []int32, w []float32, dim int) {
	o, xs := h(out), h(x)
	for i, r := range rows {
		gemm.Axpy(w[i], xs[i*dim:(i+1)*dim], o[int(r)*dim:(int(r)+1)*dim])
	}
}
