package gemm

// goKernels is the portable implementation, used where no assembly kernel
// applies and by the tests as a second opinion on the assembly.
var goKernels = &kernels{
	name:  "go",
	mr:    4,
	nr:    4,
	mc:    144,
	kc:    256,
	nc:    2048,
	micro: microGo4x4,
	dot4:  dot4Go,
	dot:   dotGo,
	axpy:  axpyGo,
	scale: scaleGo,

	transpose: transposePanel,
	copy:      copyPanel,
}

// microGo4x4 is the portable 4×4 micro kernel: c [4, ldc] (+)= ap [kc,4] ·
// bp [kc,4] with sixteen scalar accumulators.
func microGo4x4(kc int, ap, bp, c []float32, ldc int, load bool) {
	ap = ap[:kc*4] // [kc, 4]
	bp = bp[:kc*4] // [kc, 4]
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for q := 0; q+4 <= len(ap) && q+4 <= len(bp); q += 4 {
		a := ap[q : q+4 : q+4]
		b := bp[q : q+4 : q+4]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	r0 := c[0:4:4]
	r1 := c[ldc : ldc+4 : ldc+4]
	r2 := c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r3 := c[3*ldc : 3*ldc+4 : 3*ldc+4]
	if load {
		c00 += r0[0]
		c01 += r0[1]
		c02 += r0[2]
		c03 += r0[3]
		c10 += r1[0]
		c11 += r1[1]
		c12 += r1[2]
		c13 += r1[3]
		c20 += r2[0]
		c21 += r2[1]
		c22 += r2[2]
		c23 += r2[3]
		c30 += r3[0]
		c31 += r3[1]
		c32 += r3[2]
		c33 += r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}

// dot4Go computes out[r] = x · b[r*ldb : r*ldb+len(x)] for r < 4.
func dot4Go(x, b []float32, ldb int, out *[4]float32) {
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

// scaleGo computes x *= alpha.
func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}
