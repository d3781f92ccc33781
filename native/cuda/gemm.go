//go:build cuda || cudaemu

package cuda

import (
	"fmt"
	"time"
)

// halfOf returns a bf16 copy of t's values, made (one mm_cast_bf16) only
// when t was written since the last copy: weights are cast once per
// optimizer step (AdamW writes the copy itself), activations once.
func (e *Engine) halfOf(t *Tensor) devPtr {
	if e.err != nil {
		return 0
	}
	if t.half != 0 && t.hver == t.ver {
		return t.half
	}
	if t.half == 0 {
		p, size, err := e.allocRaw(2 * t.n)
		if err != nil {
			e.fail(err)
			return 0
		}
		t.half, t.hsize = p, size
	}
	e.clean(t)
	e.launch("mm_cast_bf16", e.elemGrid(int64(t.n)), block256, uint64(t.half), ptrArg(t), i64(int64(t.n)))
	e.stats.Casts++
	t.hver = t.ver
	return t.half
}

// gemm computes c [M, N] = op(a)·op(b) (+ c when accumulate) with the
// shape's strides (see gemmShape), at the engine's precision, on cuBLASLt or
// the engine's own kernels. A dirty c (logically zero) turns an
// accumulation into a plain product.
func (e *Engine) gemm(op string, c, a, b *Tensor, s gemmShape, accumulate bool) {
	if e.err != nil {
		return
	}
	if s.M <= 0 || s.N <= 0 || s.K <= 0 {
		if s.M < 0 || s.N < 0 || s.K < 0 {
			e.fail(fmt.Errorf("cuda: %s: matrix product of shape %d×%d×%d", op, s.M, s.N, s.K))
		} else if s.K == 0 && !accumulate && s.M > 0 && s.N > 0 { // an empty sum: zero
			e.clean(c)
			if err := e.be.memsetD32(c.ptr, 0, s.M*s.N); err != nil {
				e.fail(fmt.Errorf("cuda: %s: %w", op, err))
			}
			c.ver++
		}
		return
	}
	e.clean(a)
	e.clean(b)
	if c.dirty && s.M*s.N < c.n {
		e.clean(c)
	}
	beta := float32(0)
	if accumulate && !c.dirty {
		beta = 1
	}
	e.stats.GEMMs++
	alpha := float32(1)
	if e.opts.Precision == BF16 {
		ah, bh := e.halfOf(a), e.halfOf(b)
		if e.err != nil {
			return
		}
		if e.useLt() {
			e.ltMatmul(op, s, bf16, ah, bh, c.ptr, alpha, beta)
		} else {
			e.launch("mm_gemm_bf16", gemmGrid(s.M, s.N), dim3{gemmBF16Block, 1, 1}, uint64(c.ptr), uint64(ah),
				uint64(bh), i32(s.M), i32(s.N), i32(s.K), i32(s.LDA), i32(s.LDB), i32(s.LDC), b2i(s.TransA),
				b2i(s.TransB), f32a(alpha), f32a(beta))
		}
	} else {
		if e.useLt() {
			e.ltMatmul(op, s, f32, a.ptr, b.ptr, c.ptr, alpha, beta)
		} else {
			e.launch("mm_gemm_f32", gemmGrid(s.M, s.N), dim3{gemmF32Block, 1, 1}, uint64(c.ptr), uint64(a.ptr),
				uint64(b.ptr), i32(s.M), i32(s.N), i32(s.K), i32(s.LDA), i32(s.LDB), i32(s.LDC), b2i(s.TransA),
				b2i(s.TransB), f32a(alpha), f32a(beta))
		}
	}
	c.dirty = false
	c.ver++
}

func (e *Engine) useLt() bool { return e.opts.GEMM != GEMMOwn && e.be.hasMatmul() }

func (e *Engine) ltMatmul(op string, s gemmShape, t dataType, a, b, c devPtr, alpha, beta float32) {
	var t0 time.Time
	if e.prof != nil {
		e.be.sync()
		t0 = time.Now()
	}
	// row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: B's buffer first.
	if _, err := e.be.matmul(ltPlan(s), t, b, a, c, alpha, beta); err != nil {
		e.fail(fmt.Errorf("cuda: %s: cuBLASLt %d×%d×%d: %w", op, s.M, s.N, s.K, err))
		return
	}
	e.stats.Launches++
	if e.prof != nil {
		e.profiled("cublasLt", t0)
	}
}

func b2i(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
