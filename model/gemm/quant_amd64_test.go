//go:build amd64 && !purego

package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/minimind-go/minimind/model/internal/cpufeat"
	"github.com/stretchr/testify/require"
)

// TestFourRowKernelsAgree checks that the VNNI four-row kernels give the
// AVX2 ones' results bit for bit (both sum each block exactly in int32, then
// do the same float operations), and that both equal the one-row kernel
// within float32 rounding.
func TestFourRowKernelsAgree(t *testing.T) {
	if !cpufeat.F16C {
		t.Skip("no AVX2/F16C")
	}
	for _, typ := range []QType{QQ8_0, QQ4_0} {
		for _, k := range []int{32, 512, 1408} {
			t.Run(fmt.Sprintf("%v_k%d", typ, k), func(t *testing.T) {
				plain := randQData(typ, 8, k, uint64(k))
				q, err := NewQMatrix(typ, 8, k, append([]byte(nil), plain...))
				require.NoError(t, err)
				require.Equal(t, 8, q.Packed)
				r := rand.New(rand.NewPCG(uint64(k), 1))
				x := make([]float32, k)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				var xi xInt8
				xi.set(x)
				rb := typ.RowBytes(k)
				for g := range 2 {
					grp := q.Data[g*4*rb : (g+1)*4*rb]
					var avx, vnni [4]float32
					one := avxQKernels.q8x8
					if typ == QQ8_0 {
						avx = dotQ8X4AVX(&xi, grp)
					} else {
						avx = dotQ4X4AVX(&xi, grp)
						one = avxQKernels.q4x8
					}
					for j := range 4 {
						row := plain[(4*g+j)*rb : (4*g+j+1)*rb]
						require.InDelta(t, one(xi.q, xi.d, row), avx[j], 2e-5*float64(k), "row %d", 4*g+j)
					}
					if !cpufeat.VNNI {
						continue
					}
					if typ == QQ8_0 {
						vnni = dotQ8X4VNNI(&xi, grp)
					} else {
						vnni = dotQ4X4VNNI(&xi, grp)
					}
					require.Equal(t, avx, vnni, "group %d", g)
				}
			})
		}
	}
	t.Logf("VNNI: %v", cpufeat.VNNI)
}

// TestF16FourRows checks that the four-row f16 kernel gives the one-row
// kernel's sums bit for bit.
func TestF16FourRows(t *testing.T) {
	if !cpufeat.F16C {
		t.Skip("no AVX2/F16C")
	}
	for _, k := range []int{16, 48, 512, 1408} {
		q := randQ(QF16, 4, k, uint64(k))
		x := make([]float32, k)
		r := rand.New(rand.NewPCG(uint64(k), 2))
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		got := dotF16X4AVX(x, q.Data, 2*k)
		for row := range 4 {
			require.Equal(t, dotF16AVX(x, q.row(row)), got[row], "k=%d row %d", k, row)
		}
	}
}
