package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestRowOpsMatchSingleRows checks the RowEngine ops against the plain ops
// on one row at a time, bit for bit, for row lengths below and above the
// size at which SwiGLU splits a row between threads.
func TestRowOpsMatchSingleRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	randT := func(e *cpu.Engine, n int) model.Tensor {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64()) * 3
		}
		return e.Upload(d)
	}
	for _, threads := range []int{1, 2, 3} {
		for _, tc := range []struct{ rows, k, m int }{{1, 64, 1408}, {16, 512, 1408}, {7, 768, 2432}, {5, 100, 4099}} {
			t.Run(fmt.Sprintf("t%d_%dx%dx%d", threads, tc.rows, tc.k, tc.m), func(t *testing.T) {
				e := cpu.New(threads)
				x, w := randT(e, tc.rows*tc.k), randT(e, tc.m*tc.k) // [rows, k], [m, k]
				out := e.Alloc(tc.rows * tc.m)                      // [rows, m]
				e.MatMulRows(out, x, w, tc.rows, tc.k, tc.m)
				g, u := randT(e, tc.rows*tc.m), randT(e, tc.rows*tc.m) // [rows, m]
				act := e.Alloc(tc.rows * tc.m)
				e.SwiGLURows(act, g, u, tc.rows, tc.m)
				gotMM, gotAct := e.Read(out), e.Read(act)
				for r := range tc.rows {
					xr := e.Upload(e.Read(x)[r*tc.k : (r+1)*tc.k])
					o := e.Alloc(tc.m)
					e.MatMul(o, xr, w, 1, tc.k, tc.m)
					require.Equal(t, e.Read(o), gotMM[r*tc.m:(r+1)*tc.m], "matmul row %d", r)
					gr, ur := e.Upload(e.Read(g)[r*tc.m:(r+1)*tc.m]), e.Upload(e.Read(u)[r*tc.m:(r+1)*tc.m])
					a := e.Alloc(tc.m)
					e.SwiGLU(a, gr, ur, tc.m)
					require.Equal(t, e.Read(a), gotAct[r*tc.m:(r+1)*tc.m], "swiglu row %d", r)
				}
			})
		}
	}
}
