//go:build amd64 && !purego

package vmath

import (
	"math"

	"github.com/minimind-go/minimind/model/internal/cpufeat"
)

// useAVX is decided once: the assembly needs AVX2 and FMA.
var useAVX = cpufeat.AVX2FMA

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
