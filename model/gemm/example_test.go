package gemm_test

import (
	"fmt"

	"github.com/minimind-go/minimind/model/gemm"
)

// A linear layer y = x·Wᵀ for a batch of two inputs of size 3 and a weight W
// with two outputs stored [out, in], then its backward pass.
func Example() {
	x := []float32{1, 2, 3, 4, 5, 6} // [2, 3]
	w := []float32{1, 0, 1, 0, 1, 0} // [2, 3]
	y := make([]float32, 2*2)        // [2, 2]
	gemm.NT(y, x, w, 2, 2, 3, false, 1)
	fmt.Println("y  =", y)

	dy := []float32{1, 0, 0, 1} // [2, 2]
	dx := make([]float32, 2*3)  // [2, 3]: dX = dY·W
	gemm.NN(dx, dy, w, 2, 3, 2, false, 1)
	fmt.Println("dx =", dx)

	dw := make([]float32, 2*3) // [2, 3]: dW = dYᵀ·X
	gemm.TN(dw, dy, x, 2, 3, 2, false, 1)
	fmt.Println("dw =", dw)
	// Output:
	// y  = [4 2 10 5]
	// dx = [1 0 1 0 1 0]
	// dw = [1 2 3 4 5 6]
}

// Attention scores of one head read straight out of [T, H, D] buffers: the
// head's rows are D values apart from the next head's and H·D apart from the
// next token's.
func ExampleNTStrided() {
	const T, H, D = 2, 2, 2
	q := []float32{1, 0, 9, 9, 0, 1, 9, 9} // [T, H, D]; head 0 holds 1 0 / 0 1
	k := []float32{2, 3, 9, 9, 4, 5, 9, 9} // [T, H, D]; head 0 holds 2 3 / 4 5
	scores := make([]float32, T*T)         // [T, T]
	h := 0
	gemm.NTStrided(scores, T, q[h*D:], H*D, k[h*D:], H*D, T, T, D, false, 1)
	fmt.Println(scores)
	// Output: [2 4 3 5]
}

func ExampleDot() {
	fmt.Println(gemm.Dot([]float32{1, 2, 3}, []float32{4, 5, 6}))
	// Output: 32
}

func ExampleAxpy() {
	y := []float32{1, 1, 1}
	gemm.Axpy(2, []float32{1, 2, 3}, y)
	gemm.Scale(0.5, y)
	fmt.Println(y)
	// Output: [1.5 2.5 3.5]
}

// ExampleNTRows multiplies three rows at once; each row of the result is
// bit for bit what NT gives for that row alone.
func ExampleNTRows() {
	a := []float32{1, 2, 3, 4, 5, 6} // [3, 2]
	b := []float32{1, 0, 0, 1, 1, 1} // [3, 2]: three output columns
	out := make([]float32, 9)        // [3, 3]
	gemm.NTRows(out, a, b, 3, 3, 2, 1)
	row := make([]float32, 3) // [1, 3]
	gemm.NT(row, a[2:4], b, 1, 3, 2, false, 1)
	fmt.Println(out, row)
	// Output: [1 2 3 3 4 7 5 6 11] [3 4 7]
}
