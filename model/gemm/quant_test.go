package gemm

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// randQ returns a random rows×cols matrix of type t: halves of moderate
// magnitude for f16, random scales and quants for q8_0 and q4_0.
func randQ(t QType, rows, cols int, seed uint64) *QMatrix {
	r := rand.New(rand.NewPCG(seed, 2))
	half := func() uint16 { // sign, exponent 10..17 (≈ 2^-5 .. 2^2), random mantissa
		return uint16(r.IntN(2))<<15 | uint16(10+r.IntN(8))<<10 | uint16(r.IntN(1024))
	}
	rb := t.RowBytes(cols)
	data := make([]byte, rows*rb)
	for row := range rows {
		b := data[row*rb : (row+1)*rb]
		switch t {
		case QF16:
			for i := range cols {
				binary.LittleEndian.PutUint16(b[2*i:], half())
			}
		case QQ8_0, QQ4_0:
			bs := 34
			if t == QQ4_0 {
				bs = 18
			}
			for blk := 0; blk < cols/32; blk++ {
				binary.LittleEndian.PutUint16(b[blk*bs:], half()&^(7<<12)) // smaller scales
				for i := 2; i < bs; i++ {
					b[blk*bs+i] = byte(r.IntN(256))
				}
			}
		}
	}
	q, err := NewQMatrix(t, rows, cols, data)
	if err != nil {
		panic(err)
	}
	return q
}

func TestQuantKernels(t *testing.T) {
	for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
		for _, cols := range []int{32, 64, 96, 192, 1408} {
			for _, n := range []int{1, 2, 5, 17} {
				rows := 77
				if n == 17 {
					rows = 300 // more than two tiles: the batched path splits between goroutines
				}
				t.Run(fmt.Sprintf("%v_k%d_n%d", typ, cols, n), func(t *testing.T) {
					q := randQ(typ, rows, cols, uint64(cols*10+n))
					r := rand.New(rand.NewPCG(uint64(n), 3))
					x := make([]float32, n*cols) // [n, cols]
					for i := range x {
						x[i] = float32(r.NormFloat64())
					}
					// Reference: dequantize, then float64 dot products.
					w := make([]float32, rows*cols) // [rows, cols]
					for row := range rows {
						q.DequantizeRow(w[row*cols:(row+1)*cols], row)
					}
					for _, kern := range []*qkernels{goQKernels, qkern} {
						saved := qkern
						qkern = kern
						for _, threads := range []int{1, 3} {
							out := make([]float32, n*rows)
							QNT(out, x, q, n, threads)
							for i := range n {
								// With integer dots (n < 4, q8_0 / q4_0) x is rounded to int8
								// blocks first: each x_j moves by at most max|x_block| / 254.
								intDot := n < qGemmMinRows && ((typ == QQ8_0 && kern.q8x8 != nil) || (typ == QQ4_0 && kern.q4x8 != nil))
								for row := range rows {
									var s, mag, xerr float64
									for j := range cols {
										p := float64(x[i*cols+j]) * float64(w[row*cols+j])
										s += p
										mag += math.Abs(p)
									}
									if intDot {
										for b := 0; b < cols/32; b++ {
											var amax, wsum float64
											for j := b * 32; j < b*32+32; j++ {
												amax = math.Max(amax, math.Abs(float64(x[i*cols+j])))
												wsum += math.Abs(float64(w[row*cols+j]))
											}
											xerr += amax / 254 * wsum * 1.001
										}
									}
									require.InDelta(t, s, out[i*rows+row], 1e-5*mag+xerr+1e-30, "%s: out[%d,%d]", kern.name, i, row)
								}
							}
						}
						qkern = saved
					}
				})
			}
		}
	}
	t.Logf("quantized kernels: %s", qkern.name)
}

func TestHalfTable(t *testing.T) {
	tab := halfTable()
	require.Equal(t, float32(1), tab[0x3c00])
	require.Equal(t, float32(-2), tab[0xc000])
	require.Equal(t, float32(math.Ldexp(1, -24)), tab[1])
	require.Equal(t, float32(-math.Ldexp(1, -24)), tab[0x8001])
	require.Equal(t, float32(65504), tab[0x7bff])
	require.True(t, math.IsInf(float64(tab[0x7c00]), 1))
}

func BenchmarkQNT(b *testing.B) {
	for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
		q := randQ(typ, 1408, 512, 1)
		x := make([]float32, 512)
		out := make([]float32, 1408)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(q.Data)))
			for range b.N {
				QNT(out, x, q, 1, 1)
			}
		})
	}
}

// TestDequantizeKernels checks the row dequantizers of the selected kernels
// against the portable ones, bit for bit.
func TestDequantizeKernels(t *testing.T) {
	for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
		q := randQ(typ, 3, 96, 5)
		for r := range 3 {
			got := make([]float32, 96)
			q.DequantizeRow(got, r)
			want := make([]float32, 96)
			b := q.row(r)
			switch typ {
			case QF16:
				goQKernels.cvtF16(want, b)
			case QQ8_0:
				goQKernels.cvtQ8(want, b)
			case QQ4_0:
				goQKernels.cvtQ4(want, b)
			}
			require.Equal(t, want, got, "%v row %d (%s)", typ, r, qkern.name)
		}
	}
}
