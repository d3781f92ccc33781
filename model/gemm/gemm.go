// Package gemm provides the single-precision matrix kernels of the CPU engine:
// the three matrix products used by a linear layer's forward and backward pass
// (NT, NN, TN), their strided forms used by attention, and the vector helpers
// Dot, Axpy and Scale.
//
// All matrices are row-major float32 and all sizes and strides are counted in
// elements. A "strided" matrix X with leading dimension ldx stores element
// (i, j) at x[i*ldx+j], so a per-head view of a [T, H, D] buffer is the slice
// starting at head h with ld = H*D.
//
// On amd64 with AVX2 and FMA (checked at run time) the products run on a
// cache-blocked, packed kernel with a 6×16 register tile written in Go
// assembly; elsewhere (other CPUs, GOARCH=wasm, or the purego build tag) a
// pure-Go kernel with a 2×4 tile computes the same products. A product of
// one to three rows (NT) or of one row (NN, TN), as in decoding, is computed
// without packing, as matrix–vector products that read the matrix once per
// row.
//
// threads ≤ 1 computes on the calling goroutine; threads > 1 splits the
// output into that many contiguous blocks of whole register tiles, each
// computed by its own goroutine (one of them the caller's), and returns when
// all are done. The result is the same, bit for bit, whatever threads is.
// Packing buffers are recycled between calls (a sync.Pool); no result
// depends on them.
//
// The kernels are hot code: like the built-in index checks of the language,
// they panic with a descriptive message when called with inconsistent sizes
// (a negative dimension, a leading dimension smaller than a row, a slice too
// short for the dimensions). Such a panic is a programming error in the
// caller, never a consequence of user data. The output must not overlap the
// inputs.
package gemm

import (
	"fmt"
)

// NT computes out[m,n] = a[m,k] · b[n,k]ᵀ, or adds the product to out when acc
// is true. It is the linear layer y = x·Wᵀ with W stored [out, in]. threads ≤ 1
// runs on the calling goroutine; more splits the output between that many
// goroutines. It panics if a slice is too short for its dimensions.
func NT(out, a, b []float32, m, n, k int, acc bool, threads int) {
	NTStrided(out, n, a, k, b, k, m, n, k, acc, threads)
}

// NN computes out[m,n] = a[m,k] · b[k,n], or adds the product to out when acc
// is true (the backward pass of a linear layer: dX = dY·W).
func NN(out, a, b []float32, m, n, k int, acc bool, threads int) {
	NNStrided(out, n, a, k, b, n, m, n, k, acc, threads)
}

// TN computes out[m,n] = a[k,m]ᵀ · b[k,n], or adds the product to out when acc
// is true (the weight gradient of a linear layer: dW = dYᵀ·X).
func TN(out, a, b []float32, m, n, k int, acc bool, threads int) {
	TNStrided(out, n, a, m, b, n, m, n, k, acc, threads)
}

// NTStrided is NT on strided views: out[i*ldo+j] (+)= Σ_p a[i*lda+p]·b[j*ldb+p]
// for i < m, j < n, p < k.
func NTStrided(out []float32, ldo int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool, threads int) {
	p := problem{out: out, ldo: ldo, a: a, lda: lda, b: b, ldb: ldb, m: m, n: n, k: k, bT: true, acc: acc}
	p.check("NTStrided")
	run(&p, defaultKernels, threads, serialFlops)
}

// NNStrided is NN on strided views: out[i*ldo+j] (+)= Σ_p a[i*lda+p]·b[p*ldb+j]
// for i < m, j < n, p < k.
func NNStrided(out []float32, ldo int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool, threads int) {
	p := problem{out: out, ldo: ldo, a: a, lda: lda, b: b, ldb: ldb, m: m, n: n, k: k, acc: acc}
	p.check("NNStrided")
	run(&p, defaultKernels, threads, serialFlops)
}

// TNStrided is TN on strided views: out[i*ldo+j] (+)= Σ_p a[p*lda+i]·b[p*ldb+j]
// for i < m, j < n, p < k.
func TNStrided(out []float32, ldo int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool, threads int) {
	p := problem{out: out, ldo: ldo, a: a, lda: lda, b: b, ldb: ldb, m: m, n: n, k: k, aT: true, acc: acc}
	p.check("TNStrided")
	run(&p, defaultKernels, threads, serialFlops)
}

// Dot returns Σ a[i]·b[i]. It panics if the lengths differ.
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("gemm.Dot: len(a)=%d != len(b)=%d", len(a), len(b)))
	}
	return defaultKernels.dot(a, b)
}

// Axpy computes y += alpha·x element-wise. It panics if the lengths differ.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("gemm.Axpy: len(x)=%d != len(y)=%d", len(x), len(y)))
	}
	defaultKernels.axpy(alpha, x, y)
}

// Scale computes x *= alpha element-wise.
func Scale(alpha float32, x []float32) {
	defaultKernels.scale(alpha, x)
}

// Accelerated reports whether the products run on the AVX2/FMA assembly kernel
// (true) or on the portable pure-Go kernel (false).
func Accelerated() bool { return defaultKernels.name != "go" }

// problem is one product out (+)= op(A)·op(B) with strided operands.
//
// The logical operands are A [m,k] and B [k,n]:
//
//	A(i,p) = a[i*lda+p]  (aT false: stored [m,k])  or a[p*lda+i] (aT true: stored [k,m])
//	B(p,j) = b[p*ldb+j]  (bT false: stored [k,n])  or b[j*ldb+p] (bT true: stored [n,k])
type problem struct {
	out     []float32 // [m, ldo]
	ldo     int
	a       []float32 // [m, lda] or [k, lda] when aT
	lda     int
	b       []float32 // [k, ldb] or [n, ldb] when bT
	ldb     int
	m, n, k int
	aT, bT  bool
	acc     bool
}

// need returns the minimum slice length of a rows×cols matrix with row stride ld.
func need(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// check panics with a message naming the function and the operand when the
// sizes are inconsistent.
func (p *problem) check(fn string) {
	if p.m < 0 || p.n < 0 || p.k < 0 {
		panic(fmt.Sprintf("gemm.%s: negative dimension m=%d n=%d k=%d", fn, p.m, p.n, p.k))
	}
	ar, ac := p.m, p.k
	if p.aT {
		ar, ac = p.k, p.m
	}
	br, bc := p.k, p.n
	if p.bT {
		br, bc = p.n, p.k
	}
	type operand struct {
		name       string
		s          []float32
		rows, cols int
		ld         int
	}
	for _, o := range [...]operand{
		{"out", p.out, p.m, p.n, p.ldo},
		{"a", p.a, ar, ac, p.lda},
		{"b", p.b, br, bc, p.ldb},
	} {
		if o.rows > 1 && o.ld < o.cols {
			panic(fmt.Sprintf("gemm.%s: leading dimension of %s is %d, less than its %d columns", fn, o.name, o.ld, o.cols))
		}
		if o.ld < 0 {
			panic(fmt.Sprintf("gemm.%s: negative leading dimension %d of %s", fn, o.ld, o.name))
		}
		if n := need(o.rows, o.cols, o.ld); len(o.s) < n {
			panic(fmt.Sprintf("gemm.%s: %s has %d elements, needs %d for [%d,%d] with stride %d (m=%d n=%d k=%d)",
				fn, o.name, len(o.s), n, o.rows, o.cols, o.ld, p.m, p.n, p.k))
		}
	}
}
