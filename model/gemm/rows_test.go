package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNTRowsMatchesSingleRowNT checks that each row of NTRows is bit for bit
// the row NT computes alone, for batch sizes on both sides of NT's
// matrix–vector threshold, column counts that are not multiples of four,
// and several thread counts.
func TestNTRowsMatchesSingleRowNT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ m, n, k int }{
		{1, 7, 5}, {4, 33, 64}, {16, 517, 192}, {17, 1030, 768}, {64, 130, 300},
	} {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("m%d_n%d_k%d_t%d", tc.m, tc.n, tc.k, threads), func(t *testing.T) {
				a := randSlice(rng, tc.m*tc.k) // [m, k]
				b := randSlice(rng, tc.n*tc.k) // [n, k]
				got := make([]float32, tc.m*tc.n)
				NTRows(got, a, b, tc.m, tc.n, tc.k, threads)
				for i := range tc.m {
					want := make([]float32, tc.n) // [1, n]
					NT(want, a[i*tc.k:(i+1)*tc.k], b, 1, tc.n, tc.k, false, threads)
					require.Equal(t, want, got[i*tc.n:(i+1)*tc.n], "row %d", i)
				}
			})
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}
