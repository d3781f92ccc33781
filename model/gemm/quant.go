package gemm

import (
	"fmt"
	"math"
	"sync"
)

// QType is the storage of a quantized weight matrix. The block layouts are
// GGUF's (llama.cpp's), so GGUF tensor data can be used as it is:
//
//	QF16:  one IEEE half per value
//	QQ8_0: blocks of 32 values: f16 scale d, 32 int8 q      (x = d·q), 34 bytes
//	QQ4_0: blocks of 32 values: f16 scale d, 16 bytes whose low nibbles are
//	       values 0..15 and high nibbles values 16..31     (x = d·(q−8)), 18 bytes
type QType uint8

// Quantized storage types.
const (
	QF16 QType = iota + 1
	QQ8_0
	QQ4_0
)

func (t QType) String() string {
	switch t {
	case QF16:
		return "f16"
	case QQ8_0:
		return "q8_0"
	case QQ4_0:
		return "q4_0"
	}
	return fmt.Sprintf("QType(%d)", uint8(t))
}

// RowBytes is the size of a row of cols values, or 0 when cols does not fit
// the type (q8_0 and q4_0 need a multiple of 32; every type a multiple of 16).
func (t QType) RowBytes(cols int) int {
	if cols <= 0 || cols%16 != 0 {
		return 0
	}
	switch t {
	case QF16:
		return 2 * cols
	case QQ8_0:
		if cols%32 == 0 {
			return cols / 32 * 34
		}
	case QQ4_0:
		if cols%32 == 0 {
			return cols / 32 * 18
		}
	}
	return 0
}

// QMatrix is a weight matrix [Rows, Cols] held quantized, row after row.
type QMatrix struct {
	Type       QType
	Rows, Cols int
	Data       []byte // [Rows × Type.RowBytes(Cols)]
}

// NewQMatrix wraps data as a [rows, cols] matrix of type t.
func NewQMatrix(t QType, rows, cols int, data []byte) (*QMatrix, error) {
	rb := t.RowBytes(cols)
	if rb == 0 || rows <= 0 {
		return nil, fmt.Errorf("gemm: a %v matrix cannot have %d×%d values", t, rows, cols)
	}
	if len(data) != rows*rb {
		return nil, fmt.Errorf("gemm: a %d×%d %v matrix takes %d bytes, got %d", rows, cols, t, rows*rb, len(data))
	}
	return &QMatrix{Type: t, Rows: rows, Cols: cols, Data: data}, nil
}

// Len is the number of values (Rows·Cols).
func (q *QMatrix) Len() int { return q.Rows * q.Cols }

// row returns the bytes of row r.
func (q *QMatrix) row(r int) []byte {
	rb := q.Type.RowBytes(q.Cols)
	return q.Data[r*rb : (r+1)*rb]
}

// DequantizeRow writes row r as float32 into dst [Cols].
func (q *QMatrix) DequantizeRow(dst []float32, r int) {
	b := q.row(r)
	switch q.Type {
	case QF16:
		qkern.cvtF16(dst[:q.Cols], b)
	case QQ8_0:
		qkern.cvtQ8(dst[:q.Cols], b)
	case QQ4_0:
		qkern.cvtQ4(dst[:q.Cols], b)
	}
}

// halfTable maps every half to its float32 value (256 KiB, built once).
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = halfToFloat(uint16(h))
	}
	return &t
})

func halfToFloat(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	v := float32(mant) * (1.0 / (1 << 24)) // subnormal: mant·2^-24
	if sign != 0 {
		v = -v
	}
	return v
}

// qdot returns x · row r of q, with the fastest kernel available.
func qdot(x []float32, q *QMatrix, r int) float32 {
	b := q.row(r)
	switch q.Type {
	case QF16:
		return qkern.f16(x[:q.Cols], b)
	case QQ8_0:
		return qkern.q8(x[:q.Cols], b)
	default:
		return qkern.q4(x[:q.Cols], b)
	}
}

// qkernels are the row-dot kernels of the quantized types.
type qkernels struct {
	name        string
	f16, q8, q4 func(x []float32, row []byte) float32
	cvtF16      func(dst []float32, row []byte) // dst[i] = half(row[2i:])
	cvtQ8       func(dst []float32, row []byte) // dequantize a row of Q8_0 blocks
	cvtQ4       func(dst []float32, row []byte) // dequantize a row of Q4_0 blocks
	// q8x8 and q4x8, when set, multiply a row of Q8_0 / Q4_0 blocks with x
	// quantized to int8 blocks by quantizeX (integer products, as
	// llama.cpp does); nil means the float kernels above are used.
	q8x8, q4x8 func(xq []byte, xd []float32, row []byte) float32
}

// quantizeX quantizes x [k] (k a multiple of 32) to int8 blocks of 32 with a
// float32 scale each, as Q8_0 does: xd[b] = max|x| / 127, xq = round(x / xd).
func quantizeX(xq []byte, xd []float32, x []float32) {
	for b := range xd {
		blk := x[32*b : 32*b+32]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		xd[b] = d
		for i, v := range blk {
			xq[32*b+i] = byte(int8(math.Round(float64(v * id))))
		}
	}
}

var goQKernels = &qkernels{name: "go", f16: dotF16Go, q8: dotQ8Go, q4: dotQ4Go, cvtF16: cvtF16Go, cvtQ8: cvtQ8Go, cvtQ4: cvtQ4Go}

func cvtQ8Go(dst []float32, b []byte) {
	t := halfTable()
	for blk := 0; blk < len(dst)/32; blk++ {
		p := b[blk*34:]
		d := t[uint16(p[0])|uint16(p[1])<<8]
		for i := range 32 {
			dst[blk*32+i] = d * float32(int8(p[2+i]))
		}
	}
}

func cvtQ4Go(dst []float32, b []byte) {
	t := halfTable()
	for blk := 0; blk < len(dst)/32; blk++ {
		p := b[blk*18:]
		d := t[uint16(p[0])|uint16(p[1])<<8]
		for j := range 16 {
			dst[blk*32+j] = d * float32(int(p[2+j]&15)-8)
			dst[blk*32+j+16] = d * float32(int(p[2+j]>>4)-8)
		}
	}
}

func cvtF16Go(dst []float32, b []byte) {
	t := halfTable()
	for i := range dst {
		dst[i] = t[uint16(b[2*i])|uint16(b[2*i+1])<<8]
	}
}

func dotF16Go(x []float32, b []byte) float32 {
	t := halfTable()
	var s0, s1, s2, s3 float32
	for i := 0; i+4 <= len(x); i += 4 {
		s0 += x[i] * t[uint16(b[2*i])|uint16(b[2*i+1])<<8]
		s1 += x[i+1] * t[uint16(b[2*i+2])|uint16(b[2*i+3])<<8]
		s2 += x[i+2] * t[uint16(b[2*i+4])|uint16(b[2*i+5])<<8]
		s3 += x[i+3] * t[uint16(b[2*i+6])|uint16(b[2*i+7])<<8]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotQ8Go(x []float32, b []byte) float32 {
	t := halfTable()
	var acc float32
	for blk := 0; blk < len(x)/32; blk++ {
		p := b[blk*34 : blk*34+34]
		xs := x[blk*32 : blk*32+32]
		var s0, s1 float32
		for i := 0; i < 32; i += 2 {
			s0 += xs[i] * float32(int8(p[2+i]))
			s1 += xs[i+1] * float32(int8(p[3+i]))
		}
		acc += t[uint16(p[0])|uint16(p[1])<<8] * (s0 + s1)
	}
	return acc
}

func dotQ4Go(x []float32, b []byte) float32 {
	t := halfTable()
	var acc float32
	for blk := 0; blk < len(x)/32; blk++ {
		p := b[blk*18 : blk*18+18]
		xs := x[blk*32 : blk*32+32]
		var s0, s1 float32
		for j := range 16 {
			s0 += xs[j] * float32(int(p[2+j]&15)-8)
			s1 += xs[j+16] * float32(int(p[2+j]>>4)-8)
		}
		acc += t[uint16(p[0])|uint16(p[1])<<8] * (s0 + s1)
	}
	return acc
}

// qGemmMinRows is the batch from which QNT dequantizes tiles of rows and
// uses the blocked float32 kernels instead of one dot product per value.
const qGemmMinRows = 4

// qTile is the number of weight rows dequantized at once for a batch (128
// measured faster than 32 for minimind2-small's prefill).
const qTile = 128

// qSplit is the row granularity of the split between goroutines for
// matrix–vector products.
const qSplit = 16

// QNT computes out[n, q.Rows] = x[n, q.Cols] · qᵀ (a Linear layer with
// quantized weight q) on up to threads goroutines. One row of x (decode)
// streams the weights once through the dot kernels; larger batches
// dequantize tiles of 128 weight rows and run the float32 GEMM on them.
func QNT(out, x []float32, q *QMatrix, n, threads int) {
	m, k := q.Rows, q.Cols
	if len(out) < n*m || len(x) < n*k {
		panic(fmt.Sprintf("gemm: QNT: out %d / x %d values for n=%d, %d×%d weights", len(out), len(x), n, m, k))
	}
	unit := qSplit // rows per unit of work given to a goroutine
	if n >= qGemmMinRows {
		unit = qTile
	}
	threads = max(1, min(threads, (m+unit-1)/unit))
	if n*m*k < 1<<16 {
		threads = 1
	}
	work := func(lo, hi int) {
		if n < qGemmMinRows {
			var intDot func(xq []byte, xd []float32, row []byte) float32
			switch q.Type {
			case QQ8_0:
				intDot = qkern.q8x8
			case QQ4_0:
				intDot = qkern.q4x8
			}
			if intDot != nil {
				xq := make([]byte, k)       // [k] x as int8 blocks
				xd := make([]float32, k/32) // [k/32] their scales
				for i := range n {
					quantizeX(xq, xd, x[i*k:(i+1)*k])
					oi := out[i*m : (i+1)*m]
					for r := lo; r < hi; r++ {
						oi[r] = intDot(xq, xd, q.row(r))
					}
				}
				return
			}
			for i := range n {
				xi := x[i*k : (i+1)*k]
				oi := out[i*m : (i+1)*m]
				for r := lo; r < hi; r++ {
					oi[r] = qdot(xi, q, r)
				}
			}
			return
		}
		tile := make([]float32, qTile*k) // [qTile, k] dequantized rows
		for r0 := lo; r0 < hi; r0 += qTile {
			r1 := min(r0+qTile, hi)
			for r := r0; r < r1; r++ {
				q.DequantizeRow(tile[(r-r0)*k:(r-r0+1)*k], r)
			}
			NTStrided(out[r0:], m, x, k, tile, k, n, r1-r0, k, false, 1)
		}
	}
	if threads == 1 {
		work(0, m)
		return
	}
	var wg sync.WaitGroup
	for t := range threads {
		// Split on unit boundaries so each goroutine owns whole tiles.
		lo := (m / unit * t / threads) * unit
		hi := (m / unit * (t + 1) / threads) * unit
		if t == threads-1 {
			hi = m
		}
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(lo, hi)
		}()
	}
	wg.Wait()
}

// QAccelerated reports whether the quantized kernels use assembly.
func QAccelerated() bool { return qkern.name != "go" }
