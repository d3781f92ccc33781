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
//
// Where the CPU has the four-row integer kernels, NewQMatrix reorders the
// rows of Q8_0 and Q4_0 matrices in groups of four (see QMatrix): the same
// bytes, in the order those kernels read them.
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

// QMatrix is a weight matrix [Rows, Cols] held quantized. Data holds the
// rows one after another in GGUF's layout, except that the first Packed
// rows (a multiple of four) may be stored in groups of four for the
// four-row kernels: for group g and block b, at (g·nb + b)·4·bs bytes (nb
// blocks of bs bytes per row), the four rows' half scales (8 bytes), then
// the four rows' values (4 × (bs−2) bytes). A decode step then reads the
// weights as one sequential stream, and the scales of four rows with one
// load. DequantizeRow reads either layout.
type QMatrix struct {
	Type       QType
	Rows, Cols int
	Data       []byte // [Rows × Type.RowBytes(Cols)]
	Packed     int    // rows stored in groups of four (Q8_0 / Q4_0 only)

	// no128 is set by NewQMatrix when no Q8_0 value is −128 (quantizers,
	// this project's and llama.cpp's, write −127..127): the four-row integer
	// kernel needs it. A QMatrix built otherwise uses the one-row kernel.
	no128 bool
}

// NewQMatrix wraps data, rows in GGUF's layout, as a [rows, cols] matrix of
// type t. It takes ownership of data: where the CPU has the four-row integer
// kernels, Q8_0 and Q4_0 rows are reordered in place in groups of four.
func NewQMatrix(t QType, rows, cols int, data []byte) (*QMatrix, error) {
	rb := t.RowBytes(cols)
	if rb == 0 || rows <= 0 {
		return nil, fmt.Errorf("gemm: a %v matrix cannot have %d×%d values", t, rows, cols)
	}
	if len(data) != rows*rb {
		return nil, fmt.Errorf("gemm: a %d×%d %v matrix takes %d bytes, got %d", rows, cols, t, rows*rb, len(data))
	}
	q := &QMatrix{Type: t, Rows: rows, Cols: cols, Data: data}
	if t == QQ8_0 {
		q.no128 = true
		for i := 0; i < len(data) && q.no128; i += 34 {
			for _, v := range data[i+2 : i+34] {
				if v == 0x80 {
					q.no128 = false
					break
				}
			}
		}
	}
	if (t == QQ8_0 && q.no128 && qkern.q8x4 != nil) || (t == QQ4_0 && qkern.q4x4 != nil) {
		q.pack()
	}
	return q, nil
}

// blockBytes is the size of one 32-value block of a Q8_0 / Q4_0 matrix.
func (q *QMatrix) blockBytes() int {
	if q.Type == QQ4_0 {
		return 18
	}
	return 34
}

// pack reorders the first rows&^3 rows in groups of four (see QMatrix).
func (q *QMatrix) pack() {
	bs, nb := q.blockBytes(), q.Cols/32
	rb := nb * bs
	vb := bs - 2
	q.Packed = q.Rows &^ 3
	grp := make([]byte, 4*rb) // one group, GGUF layout
	for g := 0; g < q.Packed/4; g++ {
		dst := q.Data[g*4*rb : (g+1)*4*rb]
		copy(grp, dst)
		for b := range nb {
			o := b * 4 * bs
			for j := range 4 {
				src := grp[j*rb+b*bs:]
				copy(dst[o+2*j:o+2*j+2], src[:2])
				copy(dst[o+8+j*vb:o+8+(j+1)*vb], src[2:bs])
			}
		}
	}
}

// blocks returns where row r's blocks are (Q8_0 / Q4_0): its first half
// scale at s[0:2], its first values at v, the next block stride bytes on.
func (q *QMatrix) blocks(r int) (s, v []byte, stride int) {
	bs, nb := q.blockBytes(), q.Cols/32
	rb := nb * bs
	if r < q.Packed {
		g, j := r/4, r%4
		base := g * 4 * rb
		return q.Data[base+2*j:], q.Data[base+8+j*(bs-2):], 4 * bs
	}
	return q.Data[r*rb:], q.Data[r*rb+2:], bs
}

// Len is the number of values (Rows·Cols).
func (q *QMatrix) Len() int { return q.Rows * q.Cols }

// row returns the bytes of row r, which must not be in a packed group.
func (q *QMatrix) row(r int) []byte {
	rb := q.Type.RowBytes(q.Cols)
	return q.Data[r*rb : (r+1)*rb]
}

// DequantizeRow writes row r as float32 into dst [Cols].
func (q *QMatrix) DequantizeRow(dst []float32, r int) {
	if q.Type == QF16 {
		qkern.cvtF16(dst[:q.Cols], q.row(r))
		return
	}
	s, v, stride := q.blocks(r)
	if q.Type == QQ8_0 {
		qkern.cvtQ8(dst[:q.Cols], s, v, stride)
	} else {
		qkern.cvtQ4(dst[:q.Cols], s, v, stride)
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
	if q.Type == QF16 {
		return qkern.f16(x[:q.Cols], q.row(r))
	}
	s, v, stride := q.blocks(r)
	if q.Type == QQ8_0 {
		return qkern.q8(x[:q.Cols], s, v, stride)
	}
	return qkern.q4(x[:q.Cols], s, v, stride)
}

// qkernels are the row-dot kernels of the quantized types.
//
// The Q8_0 / Q4_0 row kernels take a row as its blocks: the first half scale
// at s[0:2], the first values at v, each next block stride bytes further
// (see QMatrix.blocks), so that they read plain and packed rows alike.
type qkernels struct {
	name   string
	f16    func(x []float32, row []byte) float32
	q8, q4 func(x []float32, s, v []byte, stride int) float32
	cvtF16 func(dst []float32, row []byte)              // dst[i] = half(row[2i:])
	cvtQ8  func(dst []float32, s, v []byte, stride int) // dequantize a row of Q8_0 blocks
	cvtQ4  func(dst []float32, s, v []byte, stride int) // dequantize a row of Q4_0 blocks
	// q8x8 and q4x8, when set, multiply a row of Q8_0 / Q4_0 blocks (GGUF
	// layout) with x quantized to int8 blocks by quantizeX (integer
	// products, as llama.cpp does); nil means the float kernels above are
	// used.
	q8x8, q4x8 func(xq []byte, xd []float32, row []byte) float32
	// q8x4 and q4x4, when set, do the same for a packed group of four rows
	// (QMatrix), sharing the reading of x and the scaling.
	q8x4, q4x4 func(x *xInt8, grp []byte) [4]float32
	// f16x4, when set, computes f16 for four adjacent rows (row r at
	// w[r·ldw:]) in one call.
	f16x4 func(x []float32, w []byte, ldw int) [4]float32
	// quantX fills xi (sized for x) from x [k]; quantXGo where not set.
	quantX func(xi *xInt8, x []float32)
}

// xInt8 is a row of activations x [k] rounded to int8 blocks of 32 for the
// integer kernels.
type xInt8 struct {
	q []byte    // [k] int8 values round(x / d)
	a []byte    // [k] their magnitudes |q| (Q8_0 four-row kernel)
	d []float32 // [k/32] block scales max|x| / 127
	c []int32   // [k/32, 8] 8·Σ q over the block's values 0..15 (lanes 0..3) and 16..31 (lanes 4..7)
}

// xInt8Pool recycles the int8 activation buffers of QNT.
var xInt8Pool = sync.Pool{New: func() any { return new(xInt8) }}

// set quantizes x [k] (k a multiple of 32) into xi, growing its buffers.
func (xi *xInt8) set(x []float32) {
	k, nb := len(x), len(x)/32
	if cap(xi.q) < k {
		xi.q, xi.a = make([]byte, k), make([]byte, k)
		xi.d, xi.c = make([]float32, nb), make([]int32, 8*nb)
	}
	xi.q, xi.a, xi.d, xi.c = xi.q[:k], xi.a[:k], xi.d[:nb], xi.c[:8*nb]
	if qkern.quantX != nil {
		qkern.quantX(xi, x)
		return
	}
	quantXGo(xi, x)
}

// quantXGo is the portable quantX.
func quantXGo(xi *xInt8, x []float32) {
	quantizeX(xi.q, xi.d, x)
	for b := range len(xi.d) {
		var lo, hi int32
		for i := range 32 {
			v := int8(xi.q[32*b+i])
			if i < 16 {
				lo += int32(v)
			} else {
				hi += int32(v)
			}
			xi.a[32*b+i] = byte(max(v, -v))
		}
		for l := range 4 {
			xi.c[8*b+l], xi.c[8*b+4+l] = 8*lo, 8*hi
		}
	}
}

// quantizeX quantizes x [k] (k a multiple of 32) to int8 blocks of 32 with a
// float32 scale each, as Q8_0 does: xd[b] = max|x| / 127, xq = round(x / xd)
// to nearest even (as the assembly and llama.cpp's AVX2 code round).
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
			xq[32*b+i] = byte(int8(math.RoundToEven(float64(v * id))))
		}
	}
}

var goQKernels = &qkernels{name: "go", f16: dotF16Go, q8: dotQ8Go, q4: dotQ4Go, cvtF16: cvtF16Go, cvtQ8: cvtQ8Go, cvtQ4: cvtQ4Go}

func cvtQ8Go(dst []float32, s, v []byte, stride int) {
	t := halfTable()
	for blk := 0; blk < len(dst)/32; blk++ {
		o := blk * stride
		d := t[uint16(s[o])|uint16(s[o+1])<<8]
		for i := range 32 {
			dst[blk*32+i] = d * float32(int8(v[o+i]))
		}
	}
}

func cvtQ4Go(dst []float32, s, v []byte, stride int) {
	t := halfTable()
	for blk := 0; blk < len(dst)/32; blk++ {
		o := blk * stride
		d := t[uint16(s[o])|uint16(s[o+1])<<8]
		for j := range 16 {
			dst[blk*32+j] = d * float32(int(v[o+j]&15)-8)
			dst[blk*32+j+16] = d * float32(int(v[o+j]>>4)-8)
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

func dotQ8Go(x []float32, s, v []byte, stride int) float32 {
	t := halfTable()
	var acc float32
	for blk := 0; blk < len(x)/32; blk++ {
		o := blk * stride
		p := v[o : o+32]
		xs := x[blk*32 : blk*32+32]
		var s0, s1 float32
		for i := 0; i < 32; i += 2 {
			s0 += xs[i] * float32(int8(p[i]))
			s1 += xs[i+1] * float32(int8(p[i+1]))
		}
		acc += t[uint16(s[o])|uint16(s[o+1])<<8] * (s0 + s1)
	}
	return acc
}

func dotQ4Go(x []float32, s, v []byte, stride int) float32 {
	t := halfTable()
	var acc float32
	for blk := 0; blk < len(x)/32; blk++ {
		o := blk * stride
		p := v[o : o+16]
		xs := x[blk*32 : blk*32+32]
		var s0, s1 float32
		for j := range 16 {
			s0 += xs[j] * float32(int(p[j]&15)-8)
			s1 += xs[j+16] * float32(int(p[j]>>4)-8)
		}
		acc += t[uint16(s[o])|uint16(s[o+1])<<8] * (s0 + s1)
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

// splitMinBytes is the smallest weight whose one-token (matrix–vector)
// product, float32 or quantized, is split between goroutines: below it,
// waking a second goroutine costs more than its half of the reading saves
// (the product is bound by the memory bandwidth, which a second core raises
// only a little).
const splitMinBytes = 2 << 20

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
	if n*m*k < 1<<16 || (n < qGemmMinRows && len(q.Data) < splitMinBytes) {
		threads = 1
	}
	var xs qX // x rounded to int8 blocks, when an integer kernel applies
	if n < qGemmMinRows {
		xs.quantize(q, x, n)
	}
	if threads == 1 {
		qntRows(out, x, q, n, &xs, 0, m)
	} else {
		qntSplit(out, x, q, n, xs, threads, unit)
	}
	xs.release()
}

// QNTRange computes the columns [lo, hi) of QNT (weight rows lo..hi−1) for
// n < 4 rows of x on the calling goroutine, each value exactly as QNT
// computes it; lo must be a multiple of 4. An engine splits a one-token
// product between its own threads with it.
func QNTRange(out, x []float32, q *QMatrix, n, lo, hi int) {
	m, k := q.Rows, q.Cols
	if n <= 0 || n >= qGemmMinRows || lo%4 != 0 || lo < 0 || hi > m || lo > hi || len(out) < n*m || len(x) < n*k {
		panic(fmt.Sprintf("gemm: QNTRange: rows [%d, %d) of %d, n=%d, out %d / x %d values", lo, hi, m, n, len(out), len(x)))
	}
	var xs qX
	xs.quantize(q, x, n)
	qntRows(out, x, q, n, &xs, lo, hi)
	xs.release()
}

// QNTRows is QNT for n rows of x where row i of out is bit for bit what QNT
// computes for row i of x alone (n = 1), as NTRows is for NT: rows go
// through the matrix–vector path, qGemmMinRows−1 at a time. A batch of
// sequences decoding together (model.ForwardStep) uses it.
func QNTRows(out, x []float32, q *QMatrix, n, threads int) {
	m, k := q.Rows, q.Cols // out [n, m], x [n, k]
	for i := 0; i < n; i += qGemmMinRows - 1 {
		r := min(qGemmMinRows-1, n-i)
		QNT(out[i*m:(i+r)*m], x[i*k:(i+r)*k], q, r, threads)
	}
}

// qntSplit runs QNT on threads goroutines, splitting the weight rows on
// unit boundaries so that each goroutine owns whole tiles. (A function of
// its own, so that xs is copied to the heap only on this path.)
func qntSplit(out, x []float32, q *QMatrix, n int, xs qX, threads, unit int) {
	m := q.Rows
	var wg sync.WaitGroup
	for t := range threads {
		lo := (m / unit * t / threads) * unit
		hi := (m / unit * (t + 1) / threads) * unit
		if t == threads-1 {
			hi = m
		}
		if lo >= hi {
			continue
		}
		if t == threads-1 { // the last part on this goroutine
			qntRows(out, x, q, n, &xs, lo, hi)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			qntRows(out, x, q, n, &xs, lo, hi)
		}()
	}
	wg.Wait()
}

// qX holds the rows of x (at most qGemmMinRows−1) rounded to int8 blocks.
type qX struct {
	n int
	x [qGemmMinRows - 1]*xInt8
}

// quantize rounds the n rows of x [n, q.Cols] for q's integer kernels; it
// leaves xs empty when q has none (f16, or no assembly).
func (xs *qX) quantize(q *QMatrix, x []float32, n int) {
	if (q.Type != QQ8_0 || qkern.q8x8 == nil) && (q.Type != QQ4_0 || qkern.q4x8 == nil) {
		return
	}
	k := q.Cols
	for i := range n {
		xs.x[i] = xInt8Pool.Get().(*xInt8)
		xs.x[i].set(x[i*k : (i+1)*k])
	}
	xs.n = n
}

// release returns the buffers of xs to their pool.
func (xs *qX) release() {
	for _, xi := range xs.x[:xs.n] {
		xInt8Pool.Put(xi)
	}
	xs.n = 0
}

// qntRows computes the output columns [lo, hi) of QNT (weight rows lo..hi−1).
func qntRows(out, x []float32, q *QMatrix, n int, xs *qX, lo, hi int) {
	m, k := q.Rows, q.Cols
	if xs.n > 0 {
		intDot, int4 := qkern.q8x8, qkern.q8x4
		if q.Type == QQ4_0 {
			intDot, int4 = qkern.q4x8, qkern.q4x4
		} else if !q.no128 {
			int4 = nil
		}
		rb := q.Type.RowBytes(k)
		for i, xi := range xs.x[:xs.n] {
			oi := out[i*m : (i+1)*m]
			r := lo
			if int4 != nil {
				for ; r+4 <= min(hi, q.Packed); r += 4 {
					o4 := int4(xi, q.Data[r*rb:(r+4)*rb])
					copy(oi[r:r+4], o4[:])
				}
			}
			for ; r < hi; r++ {
				oi[r] = intDot(xi.q, xi.d, q.row(r))
			}
		}
		return
	}
	if n < qGemmMinRows {
		for i := range n {
			xi := x[i*k : (i+1)*k]
			oi := out[i*m : (i+1)*m]
			r := lo
			if f4 := qkern.f16x4; f4 != nil && q.Type == QF16 {
				rb := 2 * k
				for ; r+4 <= hi; r += 4 {
					o4 := f4(xi, q.Data[r*rb:(r+4)*rb], rb)
					copy(oi[r:r+4], o4[:])
				}
			}
			for ; r < hi; r++ {
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

// QAccelerated reports whether the quantized kernels use assembly.
func QAccelerated() bool { return qkern.name != "go" }
