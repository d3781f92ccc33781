//go:build amd64 && !purego

package gemm

import "github.com/minimind-go/minimind/model/internal/cpufeat"

// defaultKernels is the implementation behind the public functions: the
// AVX2/FMA assembly when the CPU and the operating system support it, the
// portable one otherwise. It is decided once, at package initialisation.
var defaultKernels = selectKernels(cpufeat.AVX2FMA)

// avxKernels is the AVX2/FMA implementation.
var avxKernels = &kernels{
	name:  "avx2",
	mr:    6,
	nr:    16,
	mc:    144,
	kc:    256,
	nc:    2048,
	micro: microAVX6x16,
	dot4:  dot4AVX,
	dot:   dotAVX,
	axpy:  axpyAVX,
	axpy4: axpy4AVX,
	scale: scaleAVX,

	transpose: transposeAVX,
	copy:      copyAVX,
}

// selectKernels returns the assembly kernels when ok, the portable ones
// otherwise.
func selectKernels(ok bool) *kernels {
	if ok {
		return avxKernels
	}
	return goKernels
}

// kern6x16 computes the 6×16 tile c [6, ldc] (+)= a [kc, 6] · b [kc, 16],
// adding the old tile when load. kc ≥ 1.
//
//go:noescape
func kern6x16(kc int, a, b, c *float32, ldc int, load bool)

// dot4x8 computes out[r] = Σ_{i<k} x[i]·b[r*ldb+i] for r < 4; k is a
// positive multiple of 8.
//
//go:noescape
func dot4x8(k int, x, b *float32, ldb int, out *[4]float32)

// dotx8 returns Σ_{i<n} a[i]·b[i]; n is a positive multiple of 8.
//
//go:noescape
func dotx8(n int, a, b *float32) float32

// axpyx8 computes y[i] += alpha·x[i] for i < n; n is a positive multiple of 8.
//
//go:noescape
func axpyx8(n int, alpha float32, x, y *float32)

// scalex8 computes x[i] *= alpha for i < n; n is a positive multiple of 8.
//
//go:noescape
func scalex8(n int, alpha float32, x *float32)

// microAVX6x16 is kern6x16 behind the kernels.micro signature.
func microAVX6x16(kc int, ap, bp, c []float32, ldc int, load bool) {
	_ = ap[kc*6-1]
	_ = bp[kc*16-1]
	_ = c[5*ldc+15]
	kern6x16(kc, &ap[0], &bp[0], &c[0], ldc, load)
}

// dot4AVX returns out[r] = x · b[r*ldb : r*ldb+len(x)] for r < 4.
func dot4AVX(x, b []float32, ldb int) (out [4]float32) {
	k := len(x)
	_ = b[3*ldb+k-1]
	k8 := k &^ 7
	if k8 > 0 {
		dot4x8(k8, &x[0], &b[0], ldb, &out)
	}
	for i := k8; i < k; i++ {
		v := x[i]
		out[0] += v * b[i]
		out[1] += v * b[ldb+i]
		out[2] += v * b[2*ldb+i]
		out[3] += v * b[3*ldb+i]
	}
	return out
}

// dotAVX returns a·b; len(b) ≥ len(a).
func dotAVX(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	n8 := n &^ 7
	var s float32
	if n8 > 0 {
		s = dotx8(n8, &a[0], &b[0])
	}
	for i := n8; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}

// axpyAVX computes y += alpha·x; len(y) ≥ len(x).
func axpyAVX(alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	n8 := n &^ 7
	if n8 > 0 {
		axpyx8(n8, alpha, &x[0], &y[0])
	}
	for i := n8; i < n; i++ {
		y[i] += alpha * x[i]
	}
}

// scaleAVX computes x *= alpha.
func scaleAVX(alpha float32, x []float32) {
	n := len(x)
	n8 := n &^ 7
	if n8 > 0 {
		scalex8(n8, alpha, &x[0])
	}
	for i := n8; i < n; i++ {
		x[i] *= alpha
	}
}

// pack16x8 transposes 16 rows of src (stride ld) into dst [kc, 16]; kc is a
// positive multiple of 8.
//
//go:noescape
func pack16x8(dst, src *float32, ld, kc int)

// pack6x8 transposes 6 rows of src (stride ld) into dst [kc, 6]; kc is a
// positive multiple of 8.
//
//go:noescape
func pack6x8(dst, src *float32, ld, kc int)

// copyRows16 fills the panels dst [panels][ps] (each [kc, 16]) from kc rows
// of 16·panels values (source stride ld), reading the source row by row.
//
//go:noescape
func copyRows16(dst *float32, ps int, src *float32, ld, kc, panels int)

// copyRows6 is copyRows16 for panels of width 6.
//
//go:noescape
func copyRows6(dst *float32, ps int, src *float32, ld, kc, panels int)

// transposeAVX packs rows×kc of src (stride ld) into dst [kc, w] for the
// widths of the assembly kernel (6 and 16), using the portable packer for a
// partial panel and for the last kc mod 8 columns.
func transposeAVX(dst, src []float32, ld, rows, w, kc int) {
	kc8 := kc &^ 7
	if rows < w || kc8 == 0 {
		transposePanel(dst, src, ld, rows, w, kc)
		return
	}
	_ = src[(w-1)*ld+kc-1]
	_ = dst[kc*w-1]
	if w == 16 {
		pack16x8(&dst[0], &src[0], ld, kc8)
	} else {
		pack6x8(&dst[0], &src[0], ld, kc8)
	}
	for r := 0; r < w; r++ {
		for q := kc8; q < kc; q++ {
			dst[q*w+r] = src[r*ld+q]
		}
	}
}

// copyAVX is copyPanels with the full panels of the assembly kernel's
// widths (6 and 16) copied by assembly.
func copyAVX(dst []float32, ps int, src []float32, ld, cols, w, kc int) {
	full := cols / w
	if full == 0 {
		copyPanels(dst, ps, src, ld, cols, w, kc)
		return
	}
	_ = src[(kc-1)*ld+cols-1]
	_ = dst[(full-1)*ps+kc*w-1]
	if w == 16 {
		copyRows16(&dst[0], ps, &src[0], ld, kc, full)
	} else {
		copyRows6(&dst[0], ps, &src[0], ld, kc, full)
	}
	if rest := cols - full*w; rest > 0 {
		copyPanels(dst[full*ps:], ps, src[full*w:], ld, rest, w, kc)
	}
}

// axpy4x8 computes y[j] += Σ_{r<4} alpha[r]·b[r*ldb+j] for j < n; n is a
// positive multiple of 8.
//
//go:noescape
func axpy4x8(n int, alpha *[4]float32, b *float32, ldb int, y *float32)

// axpy4AVX computes y[j] += Σ_{r<4} alpha[r]·b[r*ldb+j] for j < len(y).
func axpy4AVX(alpha [4]float32, b []float32, ldb int, y []float32) {
	n := len(y)
	_ = b[3*ldb+n-1]
	n8 := n &^ 7
	if n8 > 0 {
		axpy4x8(n8, &alpha, &b[0], ldb, &y[0])
	}
	for j := n8; j < n; j++ {
		y[j] += alpha[0]*b[j] + alpha[1]*b[ldb+j] + alpha[2]*b[2*ldb+j] + alpha[3]*b[3*ldb+j]
	}
}
