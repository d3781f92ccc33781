package cpu

import (
	"sync"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/gemm"
)

var _ model.RowEngine = (*Engine)(nil)

// MatMulRows implements model.RowEngine: row i of out is bit for bit what
// MatMul computes for row i of x alone (n = 1).
func (e *Engine) MatMulRows(out, x, w model.Tensor, n, k, m int) {
	gemm.NTRows(h(out), h(x), h(w), n, m, k, e.threads) // out [n, m], x [n, k], w [m, k]
}

// SwiGLURows implements model.RowEngine: each row of cols elements is
// computed in the same chunks (and so with the same vector/scalar split of
// e^x) as SwiGLU computes a lone row of cols elements.
func (e *Engine) SwiGLURows(out, gate, up model.Tensor, rows, cols int) {
	o, g, u := h(out), h(gate), h(up) // [rows, cols] each
	chunks := e.chunks(cols, 16)
	jobs := rows * len(chunks)
	th := min(e.threads, jobs)
	if th <= 1 || rows*cols*16 < 1<<15 {
		for r := range rows {
			for _, c := range chunks {
				swigluRange(o, g, u, r*cols+c[0], r*cols+c[1])
			}
		}
		return
	}
	var wg sync.WaitGroup
	for t := range th {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := jobs * t / th; j < jobs*(t+1)/th; j++ {
				r, c := j/len(chunks), chunks[j%len(chunks)]
				swigluRange(o, g, u, r*cols+c[0], r*cols+c[1])
			}
		}()
	}
	wg.Wait()
}

// chunks returns the ranges [lo, hi) that parallel(n, cost, …) hands to its
// threads.
func (e *Engine) chunks(n, cost int) [][2]int {
	th := min(e.threads, n)
	if th <= 1 || n*cost < 1<<15 {
		return [][2]int{{0, n}}
	}
	cs := make([][2]int, th)
	for i := range th {
		cs[i] = [2]int{n * i / th, n * (i + 1) / th}
	}
	return cs
}
