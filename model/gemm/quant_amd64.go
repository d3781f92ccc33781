//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"github.com/minimind-go/minimind/model/internal/cpufeat"
)

// qkern is the quantized-dot implementation: AVX2/FMA/F16C assembly when
// the CPU has it, portable Go otherwise.
var qkern = selectQKernels(cpufeat.F16C)

var avxQKernels = &qkernels{name: "avx2-f16c", f16: dotF16AVX, q8: dotQ8AVX, q4: dotQ4AVX, cvtF16: cvtF16AVX,
	cvtQ8: cvtQ8AVX, cvtQ4: cvtQ4AVX, q8x8: dotQ8X8AVX, q4x8: dotQ4X8AVX}

func selectQKernels(ok bool) *qkernels {
	if ok {
		return avxQKernels
	}
	return goQKernels
}

// dotF16x16 returns Σ_{i<n} x[i]·half(w[i]); n is a positive multiple of 16.
//
//go:noescape
func dotF16x16(n int, x *float32, w *byte) float32

// dotQ8Blocks returns x · the nb Q8_0 blocks at w (x has 32·nb values).
//
//go:noescape
func dotQ8Blocks(nb int, x *float32, w *byte) float32

// dotQ4Blocks returns x · the nb Q4_0 blocks at w (x has 32·nb values).
//
//go:noescape
func dotQ4Blocks(nb int, x *float32, w *byte) float32

// cvtF16x8 converts n halves at src to float32 at dst; n is a positive
// multiple of 8.
//
//go:noescape
func cvtF16x8(n int, dst *float32, src *byte)

func cvtF16AVX(dst []float32, b []byte) {
	n := len(dst) &^ 7
	if n > 0 && len(b) >= 2*len(dst) {
		cvtF16x8(n, unsafe.SliceData(dst), unsafe.SliceData(b))
	}
	cvtF16Go(dst[n:], b[2*n:])
}

// cvtQ8Blocks dequantizes nb Q8_0 blocks at w into dst [32·nb].
//
//go:noescape
func cvtQ8Blocks(nb int, dst *float32, w *byte)

// cvtQ4Blocks dequantizes nb Q4_0 blocks at w into dst [32·nb].
//
//go:noescape
func cvtQ4Blocks(nb int, dst *float32, w *byte)

func cvtQ8AVX(dst []float32, b []byte) {
	nb := len(dst) / 32
	if nb == 0 || len(b) < nb*34 {
		cvtQ8Go(dst, b)
		return
	}
	cvtQ8Blocks(nb, unsafe.SliceData(dst), unsafe.SliceData(b))
}

func cvtQ4AVX(dst []float32, b []byte) {
	nb := len(dst) / 32
	if nb == 0 || len(b) < nb*18 {
		cvtQ4Go(dst, b)
		return
	}
	cvtQ4Blocks(nb, unsafe.SliceData(dst), unsafe.SliceData(b))
}

// dotQ8Q8 and dotQ4Q8 multiply nb blocks of int8-quantized x (values xq
// [32·nb], scales xd [nb]) with Q8_0 / Q4_0 blocks at w.
//
//go:noescape
func dotQ8Q8(nb int, xq *byte, xd *float32, w *byte) float32

//go:noescape
func dotQ4Q8(nb int, xq *byte, xd *float32, w *byte) float32

func dotQ8X8AVX(xq []byte, xd []float32, b []byte) float32 {
	if len(xd) == 0 || len(xq) < 32*len(xd) || len(b) < 34*len(xd) {
		panic("gemm: dotQ8X8AVX: short input")
	}
	return dotQ8Q8(len(xd), unsafe.SliceData(xq), unsafe.SliceData(xd), unsafe.SliceData(b))
}

func dotQ4X8AVX(xq []byte, xd []float32, b []byte) float32 {
	if len(xd) == 0 || len(xq) < 32*len(xd) || len(b) < 18*len(xd) {
		panic("gemm: dotQ4X8AVX: short input")
	}
	return dotQ4Q8(len(xd), unsafe.SliceData(xq), unsafe.SliceData(xd), unsafe.SliceData(b))
}

func dotF16AVX(x []float32, b []byte) float32 {
	if len(x) == 0 || len(b) < 2*len(x) {
		return dotF16Go(x, b)
	}
	return dotF16x16(len(x), unsafe.SliceData(x), unsafe.SliceData(b))
}

func dotQ8AVX(x []float32, b []byte) float32 {
	nb := len(x) / 32
	if nb == 0 || len(b) < nb*34 {
		return dotQ8Go(x, b)
	}
	return dotQ8Blocks(nb, unsafe.SliceData(x), unsafe.SliceData(b))
}

func dotQ4AVX(x []float32, b []byte) float32 {
	nb := len(x) / 32
	if nb == 0 || len(b) < nb*18 {
		return dotQ4Go(x, b)
	}
	return dotQ4Blocks(nb, unsafe.SliceData(x), unsafe.SliceData(b))
}
