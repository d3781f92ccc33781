package gemm

// goKernels is the portable implementation, used where no assembly kernel
// applies and by the tests as a second opinion on the assembly.
var goKernels = &kernels{
	name:  "go",
	mr:    2,
	nr:    4,
	mc:    144,
	kc:    256,
	nc:    2048,
	micro: microGo2x4,
	dot4:  dot4Go,
	dot:   dotGo,
	axpy:  axpyGo,
	axpy4: axpy4Go,
	scale: scaleGo,

	transpose: transposePanel,
	copy:      copyPanels,
}

// microGo2x4 is the portable 2×4 micro kernel: c [2, ldc] (+)= ap [kc, 2] ·
// bp [kc, 4] with eight scalar accumulators (more would spill on amd64 and
// wasm), two steps of q per iteration.
func microGo2x4(kc int, ap, bp, c []float32, ldc int, load bool) {
	ap = ap[:kc*2] // [kc, 2]
	bp = bp[:kc*4] // [kc, 4]
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	for len(ap) >= 4 && len(bp) >= 8 {
		a0, a1 := ap[0], ap[1]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a0, a1 = ap[2], ap[3]
		b0, b1, b2, b3 = bp[4], bp[5], bp[6], bp[7]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		ap = ap[4:]
		bp = bp[8:]
	}
	if len(ap) >= 2 && len(bp) >= 4 { // odd kc
		a0, a1 := ap[0], ap[1]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	r0 := c[0:4:4]               // row 0 of the tile
	r1 := c[ldc : ldc+4 : ldc+4] // row 1
	if load {
		c00 += r0[0]
		c01 += r0[1]
		c02 += r0[2]
		c03 += r0[3]
		c10 += r1[0]
		c11 += r1[1]
		c12 += r1[2]
		c13 += r1[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
}

// dot4Go returns out[r] = x · b[r*ldb : r*ldb+len(x)] for r < 4.
func dot4Go(x, b []float32, ldb int) (out [4]float32) {
	k := len(x)
	b0 := b[0:k:k]           // [k]
	b1 := b[ldb : ldb+k]     // [k]
	b2 := b[2*ldb : 2*ldb+k] // [k]
	b3 := b[3*ldb : 3*ldb+k] // [k]
	var s0, s1, s2, s3 float32
	for i, v := range x {
		s0 += v * b0[i]
		s1 += v * b1[i]
		s2 += v * b2[i]
		s3 += v * b3[i]
	}
	out[0], out[1], out[2], out[3] = s0, s1, s2, s3
	return out
}

// dotGo returns a·b with four partial sums.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		x := a[i : i+4 : i+4]
		y := b[i : i+4 : i+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGo computes y += alpha·x.
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// axpy4Go computes y[j] += Σ_{r<4} alpha[r]·b[r*ldb+j] for j < len(y).
func axpy4Go(alpha [4]float32, b []float32, ldb int, y []float32) {
	n := len(y)
	b0 := b[0:n:n]           // [n]
	b1 := b[ldb : ldb+n]     // [n]
	b2 := b[2*ldb : 2*ldb+n] // [n]
	b3 := b[3*ldb : 3*ldb+n] // [n]
	a0, a1, a2, a3 := alpha[0], alpha[1], alpha[2], alpha[3]
	for j := range y {
		y[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
	}
}

// scaleGo computes x *= alpha.
func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}
