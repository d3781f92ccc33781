//go:build amd64 && !purego

package gemm

import (
	"unsafe"

	"github.com/minimind-go/minimind/model/internal/cpufeat"
)

// qkern is the quantized-dot implementation: AVX2/FMA/F16C assembly when
// the CPU has it, portable Go otherwise.
var qkern = selectQKernels(cpufeat.F16C, cpufeat.VNNI)

// The float Q8_0 / Q4_0 dots are the portable ones: with AVX2 QNT uses the
// integer kernels for them.
// quantX8 rounds x [32·nb] to int8 blocks: values q, magnitudes a, scales
// d [nb] and offsets c [8·nb] (see xInt8).
//
//go:noescape
func quantX8(nb int, x *float32, q, a *byte, d *float32, c *int32)

func quantXAVX(xi *xInt8, x []float32) {
	nb := len(xi.d)
	if nb == 0 || len(x) < 32*nb || len(xi.q) < 32*nb || len(xi.a) < 32*nb || len(xi.c) < 8*nb {
		panic("gemm: quantXAVX: short input")
	}
	quantX8(nb, unsafe.SliceData(x), unsafe.SliceData(xi.q), unsafe.SliceData(xi.a), unsafe.SliceData(xi.d), unsafe.SliceData(xi.c))
}

var avxQKernels = &qkernels{quantX: quantXAVX, f16x4: dotF16X4AVX, name: "avx2-f16c", f16: dotF16AVX, q8: dotQ8Go, q4: dotQ4Go, cvtF16: cvtF16AVX,
	cvtQ8: cvtQ8AVX, cvtQ4: cvtQ4AVX, q8x8: dotQ8X8AVX, q4x8: dotQ4X8AVX, q8x4: dotQ8X4AVX, q4x4: dotQ4X4AVX}

// vnniQKernels are avxQKernels with the four-row integer kernels on
// VPDPBUSD (AVX-512 VNNI on 256-bit registers).
var vnniQKernels = func() *qkernels {
	k := *avxQKernels
	k.name, k.q8x4, k.q4x4 = "avx2-f16c-vnni", dotQ8X4VNNI, dotQ4X4VNNI
	return &k
}()

func selectQKernels(f16c, vnni bool) *qkernels {
	switch {
	case vnni:
		return vnniQKernels
	case f16c:
		return avxQKernels
	}
	return goQKernels
}

// dotF16Rows sets out[r] = Σ_{i<n} x[i]·half(w[r·ldw + 2i]) for r < rows;
// n is a positive multiple of 16.
//
//go:noescape
func dotF16Rows(n int, x *float32, w *byte, ldw, rows int, out *float32)

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

// cvtQ8Blocks / cvtQ4Blocks dequantize nb Q8_0 / Q4_0 blocks into dst
// [32·nb]: block b's half scale at s + b·stride, its values at v + b·stride.
//
//go:noescape
func cvtQ8Blocks(nb int, dst *float32, s, v *byte, stride int)

//go:noescape
func cvtQ4Blocks(nb int, dst *float32, s, v *byte, stride int)

// stridedOK reports whether nb blocks at stride fit s and v (vb value bytes each).
func stridedOK(nb int, s, v []byte, stride, vb int) bool {
	return nb > 0 && len(s) >= (nb-1)*stride+2 && len(v) >= (nb-1)*stride+vb
}

func cvtQ8AVX(dst []float32, s, v []byte, stride int) {
	nb := len(dst) / 32
	if !stridedOK(nb, s, v, stride, 32) {
		cvtQ8Go(dst, s, v, stride)
		return
	}
	cvtQ8Blocks(nb, unsafe.SliceData(dst), unsafe.SliceData(s), unsafe.SliceData(v), stride)
}

func cvtQ4AVX(dst []float32, s, v []byte, stride int) {
	nb := len(dst) / 32
	if !stridedOK(nb, s, v, stride, 16) {
		cvtQ4Go(dst, s, v, stride)
		return
	}
	cvtQ4Blocks(nb, unsafe.SliceData(dst), unsafe.SliceData(s), unsafe.SliceData(v), stride)
}

// dotQ8Q8 and dotQ4Q8 multiply nb blocks of int8-quantized x (values xq
// [32·nb], scales xd [nb]) with Q8_0 / Q4_0 blocks at w (GGUF layout).
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
	var s float32
	dotF16Rows(len(x), unsafe.SliceData(x), unsafe.SliceData(b), 0, 1, &s)
	return s
}

// dotQ8Q8x4 and dotQ4Q8x4 multiply a packed group of four Q8_0 / Q4_0 rows
// (QMatrix) with x rounded to nb int8 blocks; see the assembly.
//
//go:noescape
func dotQ8Q8x4(nb int, xq, x2 *byte, xd *float32, w *byte, out *[4]float32)

//go:noescape
func dotQ4Q8x4(nb int, xq *byte, x2 *int32, xd *float32, w *byte, out *[4]float32)

func dotQ8X4AVX(x *xInt8, grp []byte) (out [4]float32) {
	nb := x.blocksFor(grp, 136, "dotQ8X4AVX")
	dotQ8Q8x4(nb, unsafe.SliceData(x.q), unsafe.SliceData(x.a), unsafe.SliceData(x.d), unsafe.SliceData(grp), &out)
	return out
}

func dotQ4X4AVX(x *xInt8, grp []byte) (out [4]float32) {
	nb := x.blocksFor(grp, 72, "dotQ4X4AVX")
	dotQ4Q8x4(nb, unsafe.SliceData(x.q), unsafe.SliceData(x.c), unsafe.SliceData(x.d), unsafe.SliceData(grp), &out)
	return out
}

//go:noescape
func dotQ8Q8x4VNNI(nb int, xq, x2 *byte, xd *float32, w *byte, out *[4]float32)

//go:noescape
func dotQ4Q8x4VNNI(nb int, xq *byte, x2 *int32, xd *float32, w *byte, out *[4]float32)

func dotQ8X4VNNI(x *xInt8, grp []byte) (out [4]float32) {
	nb := x.blocksFor(grp, 136, "dotQ8X4VNNI")
	dotQ8Q8x4VNNI(nb, unsafe.SliceData(x.q), unsafe.SliceData(x.a), unsafe.SliceData(x.d), unsafe.SliceData(grp), &out)
	return out
}

func dotQ4X4VNNI(x *xInt8, grp []byte) (out [4]float32) {
	nb := x.blocksFor(grp, 72, "dotQ4X4VNNI")
	dotQ4Q8x4VNNI(nb, unsafe.SliceData(x.q), unsafe.SliceData(x.c), unsafe.SliceData(x.d), unsafe.SliceData(grp), &out)
	return out
}

func dotF16X4AVX(x []float32, w []byte, ldw int) (out [4]float32) {
	n := len(x)
	if n == 0 || n%16 != 0 || ldw < 2*n || len(w) < 3*ldw+2*n {
		for r := range 4 {
			out[r] = dotF16AVX(x, w[r*ldw:])
		}
		return out
	}
	dotF16Rows(n, unsafe.SliceData(x), unsafe.SliceData(w), ldw, 4, &out[0])
	return out
}

// blocksFor returns x's number of blocks after checking that x and a packed
// group grp of groupBytes per block hold them all.
func (x *xInt8) blocksFor(grp []byte, groupBytes int, kernel string) int {
	nb := len(x.d)
	if nb == 0 || len(x.q) < 32*nb || len(x.a) < 32*nb || len(x.c) < 8*nb || len(grp) < groupBytes*nb {
		panic("gemm: " + kernel + ": short input")
	}
	return nb
}
