//go:build amd64 && !purego

package vmath

import "math"

// useAVX is decided once: the assembly needs AVX2 and FMA, and the
// operating system must save the YMM registers.
var useAVX = hasAVX2FMA()

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

// hasAVX2FMA reports whether the CPU has AVX2 and FMA and the operating
// system saves the YMM registers across context switches.
func hasAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}

// expConsts are the constants of expShiftAVX, each repeated over the eight
// lanes of a YMM register (row k sits at byte offset 32·k).
var expConsts = func() (c [14][8]float32) {
	vals := [14]float32{expHi, expLo, log2e, ln2Hi, ln2Lo, expP0, expP1, expP2, expP3, expP4, expP5, 1,
		float32(math.Inf(1)), math.Float32frombits(127)}
	for k, v := range vals {
		for l := range 8 {
			c[k][l] = v
		}
	}
	return c
}()

// expShiftAVX handles n (a multiple of 8) elements and adds the eight
// lanes' sums of the results into lanes.
//
//go:noescape
func expShiftAVX(dst, src *float32, n int, shift float32, c *[14][8]float32, lanes *[8]float64)

func expShift(dst, src []float32, shift float32) float64 {
	n := len(src)
	if !useAVX || n < 8 {
		return expShiftGo(dst, src, shift)
	}
	m := n &^ 7
	var lanes [8]float64
	expShiftAVX(&dst[0], &src[0], m, shift, &expConsts, &lanes)
	sum := expShiftGo(dst[m:], src[m:], shift)
	for _, l := range lanes {
		sum += l
	}
	return sum
}
