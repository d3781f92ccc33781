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
	if q, ok := w.(*gemm.QMatrix); ok {
		gemm.QNTRows(h(out), h(x), q, n, e.threads) // out [n, m], x [n, k], q [m, k]
		return
	}
	gemm.NTRows(h(out), h(x), h(w), n, m, k, e.threads) // out [n, m], x [n, k], w [m, k]
}

// SwiGLURows implements model.RowEngine: each row of cols elements is
// computed in the same chunks (and so with the same vector/scalar split of
// e^x) as SwiGLU computes a lone row of cols elements.
func (e *Engine) SwiGLURows(out, gate, up model.Tensor, rows, cols int) {
	o, g, u := h(out), h(gate), h(up) // [rows, cols] each
	nch := e.chunks(cols, 16)
	jobs := rows * nch
	th := min(e.threads, jobs)
	if th <= 1 || rows*cols*16 < 1<<15 {
		for j := range jobs {
			swigluChunk(o, g, u, cols, nch, j)
		}
		return
	}
	var wg sync.WaitGroup
	for t := range th {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := jobs * t / th; j < jobs*(t+1)/th; j++ {
				swigluChunk(o, g, u, cols, nch, j)
			}
		}()
	}
	wg.Wait()
}

// swigluChunk computes chunk j%nch of row j/nch of SwiGLURows.
func swigluChunk(o, g, u []float32, cols, nch, j int) {
	r, c := j/nch, j%nch
	swigluRange(o, g, u, r*cols+cols*c/nch, r*cols+cols*(c+1)/nch)
}

// chunks returns how many chunks parallel(n, cost, …) splits [0, n) into:
// chunk i of th is [n·i/th, n·(i+1)/th).
func (e *Engine) chunks(n, cost int) int {
	if e.serial(n, cost) {
		return 1
	}
	return min(e.threads, n)
}
