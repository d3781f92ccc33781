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
	q, err := NewQMatrix(t, rows, cols, randQData(t, rows, cols, seed))
	if err != nil {
		panic(err)
	}
	return q
}

// randQData returns the GGUF-layout bytes of a random [rows, cols] matrix.
func randQData(t QType, rows, cols int, seed uint64) []byte {
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
					if t == QQ8_0 && b[blk*bs+i] == 0x80 {
						b[blk*bs+i] = 0x81 // −128: quantizers never write it (TestQ8Minus128)
					}
				}
			}
		}
	}
	return data
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

// TestQ8Minus128 checks a Q8_0 matrix holding −128, which the four-row
// kernel cannot take (its sign trick would wrap): QNT must fall back to the
// one-row kernel and still give the exact products.
func TestQ8Minus128(t *testing.T) {
	const rows, cols = 8, 64
	data := make([]byte, rows*QQ8_0.RowBytes(cols))
	for blk := 0; blk < len(data)/34; blk++ {
		binary.LittleEndian.PutUint16(data[blk*34:], 0x3c00) // scale 1
		for i := range 32 {
			data[blk*34+2+i] = 0x80 // −128
		}
	}
	q, err := NewQMatrix(QQ8_0, rows, cols, data)
	require.NoError(t, err)
	require.False(t, q.no128)
	x := make([]float32, cols)
	for i := range x {
		x[i] = -1 // quantized exactly: −127 with scale 1/127
	}
	out := make([]float32, rows)
	QNT(out, x, q, 1, 1)
	for r := range rows {
		require.InDelta(t, float32(128*cols), out[r], 1e-3*128*cols, "row %d", r)
	}
	q2, err := NewQMatrix(QQ8_0, rows, cols, randQData(QQ8_0, rows, cols, 1))
	require.NoError(t, err)
	require.True(t, q2.no128)
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

// TestDequantizeKernels checks the row dequantizers of the selected kernels
// against the portable ones, bit for bit.
func TestDequantizeKernels(t *testing.T) {
	for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
		const rows, cols = 7, 96 // one group of four rows (packed where the CPU packs) and three plain rows
		plain := randQData(typ, rows, cols, 5)
		q, err := NewQMatrix(typ, rows, cols, append([]byte(nil), plain...))
		require.NoError(t, err)
		t.Logf("%v: %d rows packed (%s)", typ, q.Packed, qkern.name)
		rb := typ.RowBytes(cols)
		for r := range rows {
			got := make([]float32, cols)
			q.DequantizeRow(got, r)
			want := make([]float32, cols)
			b := plain[r*rb : (r+1)*rb]
			switch typ {
			case QF16:
				goQKernels.cvtF16(want, b)
			case QQ8_0:
				goQKernels.cvtQ8(want, b, b[2:], 34)
			case QQ4_0:
				goQKernels.cvtQ4(want, b, b[2:], 18)
			}
			require.Equal(t, want, got, "%v row %d (%s)", typ, r, qkern.name)
		}
	}
}

// BenchmarkQNTStream is a decode-sized matrix–vector product (k = 512) over
// a weight far larger than the caches ("mem", 96 Mi values: read from
// memory as in decode) and one that stays in L2 ("l2", 1408 rows): the
// first shows how close a kernel gets to the read bandwidth, the second its
// compute speed.
func BenchmarkQNTStream(b *testing.B) {
	for _, size := range []struct {
		name string
		rows int
	}{{"mem", 96 << 20 / 512}, {"l2", 1408}} {
		for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
			q := randQ(typ, size.rows, 512, 1)
			x := make([]float32, 512)
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			out := make([]float32, size.rows)
			b.Run(size.name+"/"+typ.String(), func(b *testing.B) {
				b.SetBytes(int64(len(q.Data)))
				for range b.N {
					QNT(out, x, q, 1, 1)
				}
			})
		}
	}
}

// TestQuantX checks the selected activation quantizer against the portable
// one, bit for bit: values, magnitudes, scales and offsets, with a block of
// zeros and a block whose values fall on halves.
func TestQuantX(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, k := range []int{32, 512, 1408} {
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(r.NormFloat64()) * float32(1+i%5)
		}
		if k >= 96 {
			clear(x[32:64]) // a zero block
			for i := 64; i < 96; i++ {
				x[i] = float32(i-80) + 0.5 // amax 15.5: ties at ±0.5·127/15.5 steps
			}
		}
		var got, want xInt8
		got.set(x)
		want.set(x) // sizes the buffers
		quantXGo(&want, x)
		require.Equal(t, want, got, "k=%d (%s)", k, qkern.name)
	}
}

// TestQNTSplitDeterministic checks that a matrix–vector product large
// enough to be split between goroutines gives the one-goroutine result bit
// for bit.
func TestQNTSplitDeterministic(t *testing.T) {
	for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
		const k = 1024
		rows := splitMinBytes/typ.RowBytes(k) + 37
		q := randQ(typ, rows, k, 3)
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(i%11) - 5
		}
		one, three := make([]float32, rows), make([]float32, rows)
		QNT(one, x, q, 1, 1)
		QNT(three, x, q, 1, 3)
		require.Equal(t, one, three, "%v", typ)
	}
}

// TestQNTRowsMatchesSingleRow checks that every row of QNTRows equals QNT
// of that row alone, bit for bit, for each type and thread count.
func TestQNTRowsMatchesSingleRow(t *testing.T) {
	for _, typ := range []QType{QF16, QQ8_0, QQ4_0} {
		const rows, k, n = 300, 512, 7
		q := randQ(typ, rows, k, 11)
		r := rand.New(rand.NewPCG(4, 4))
		x := make([]float32, n*k) // [n, k]
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for _, threads := range []int{1, 3} {
			got := make([]float32, n*rows) // [n, rows]
			QNTRows(got, x, q, n, threads)
			for i := range n {
				alone := make([]float32, rows)
				QNT(alone, x[i*k:(i+1)*k], q, 1, 1)
				require.Equal(t, alone, got[i*rows:(i+1)*rows], "%v row %d, %d threads", typ, i, threads)
			}
		}
	}
}
