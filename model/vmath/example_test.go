package vmath_test

import (
	"fmt"

	"github.com/minimind-go/minimind/model/vmath"
)

// ExampleExpShift computes a softmax the way the CPU engine does: the
// exponentials of the logits minus their maximum, then one division.
func ExampleExpShift() {
	logits := []float32{1, 2, 3, 4}
	p := make([]float32, len(logits))
	sum := vmath.ExpShift(p, logits, 4) // p[i] = e^(logits[i]-4)
	for i := range p {
		p[i] /= float32(sum)
	}
	fmt.Printf("%.4f\n", p)
	// Output: [0.0321 0.0871 0.2369 0.6439]
}
