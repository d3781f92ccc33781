// Package vmath provides the float32 element-wise math of the CPU engine's
// hot loops: exp over a slice (for softmax, cross-entropy and SiLU) with
// the sum of the results, in AVX2/FMA assembly where the CPU has it and in
// portable Go elsewhere (wasm, purego builds).
//
// Exp is Cephes' expf: the argument is split as x = n·ln2 + r with
// |r| ≤ ln2/2, e^r is a degree-7 polynomial and 2^n goes into the exponent
// bits. Its relative error is below 2e-7 (about 2 ulp) over the whole
// range; arguments below -87.3 give 0 (as does -Inf), above 88 +Inf (e^88 is
// within a factor 2 of the largest float32).
package vmath

import "math"

// Cephes expf constants.
const (
	expHi   = 88.0               // above: +Inf (so that 2^n stays a normal float)
	expLo   = -87.33654022216797 // below: 0 (2^-126 is the smallest normal)
	log2e   = 1.44269504088896341
	ln2Hi   = 0.693359375
	ln2Lo   = -2.12194440e-4
	expP0   = 1.9875691500e-4
	expP1   = 1.3981999507e-3
	expP2   = 8.3334519073e-3
	expP3   = 4.1665795894e-2
	expP4   = 1.6666665459e-1
	expP5   = 5.0000001201e-1
	expHalf = 0.5
)

// Exp returns e^x in float32 (see the package comment for its accuracy).
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expHi:
		return float32(math.Inf(1))
	case x < expLo:
		return 0
	}
	// n = round(x·log2e), r = x − n·ln2 in two parts for accuracy.
	n := float32(math.Floor(float64(x*log2e + expHalf)))
	r := x - n*ln2Hi - n*ln2Lo
	r2 := r * r
	p := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	y := p*r2 + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// ExpShift sets dst[i] = e^(src[i]-shift) and returns the sum of dst,
// accumulated in float64 (eight float32 lanes in the assembly, summed in
// float64 at the end). dst and src may be the same slice; dst must be at
// least as long as src.
func ExpShift(dst, src []float32, shift float32) float64 {
	if len(src) == 0 {
		return 0
	}
	dst = dst[:len(src)]
	return expShift(dst, src, shift)
}

// expShiftGo is the portable ExpShift.
func expShiftGo(dst, src []float32, shift float32) float64 {
	var sum float64
	for i, v := range src {
		e := Exp(v - shift)
		dst[i] = e
		sum += float64(e)
	}
	return sum
}
