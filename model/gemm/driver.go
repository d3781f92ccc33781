package gemm

import "sync"

// serialFlops is the amount of work (m·n·k multiply-adds, some tens of
// microseconds) under which handing part of it to another goroutine, which
// may first have to wake an idle processor, costs more than it saves.
const serialFlops = 1 << 20

// kernels is one implementation of the inner loops.
type kernels struct {
	name   string
	mr, nr int // register tile of micro

	// Cache blocking (elements): a packed A block is mc×kc floats (kept in
	// L2), a packed B micro-panel kc×nr (kept in L1) and a packed B block
	// kc×nc (kept in L2/L3). mc is a multiple of mr, nc of nr.
	mc, kc, nc int

	// micro computes the mr×nr tile c[r*ldc+j] (+)= Σ_q ap[q*mr+r]·bp[q*nr+j]
	// for q < kc from packed panels ap [kc, mr] and bp [kc, nr]; it adds to the
	// tile's old value when load is true and overwrites it otherwise.
	micro func(kc int, ap, bp, c []float32, ldc int, load bool)

	// dot4 returns in r[i] the dot product of x [k] with the rows
	// b[i*ldb : i*ldb+k] for i < 4. (Arrays pass by value through these
	// func values: a pointer argument would make the caller's array escape,
	// one heap allocation per call.)
	dot4 func(x, b []float32, ldb int) (r [4]float32)

	dot  func(a, b []float32) float32
	axpy func(alpha float32, x, y []float32)
	// axpy4 computes y[j] += Σ_{r<4} alpha[r]·b[r*ldb+j] for j < len(y).
	axpy4 func(alpha [4]float32, b []float32, ldb int, y []float32)
	scale func(alpha float32, x []float32)

	// transpose fills the packed panel dst [kc, w] (w = mr or nr) from rows
	// rows of src with stride ld: dst[q*w+r] = src[r*ld+q] for r < rows, zero
	// for rows ≤ r < w.
	transpose func(dst, src []float32, ld, rows, w, kc int)
	// copy fills the packed panels dst [⌈cols/w⌉][ps] (w = mr or nr, each
	// panel [kc, w]) from kc rows of cols values of src with stride ld (see
	// copyPanels).
	copy func(dst []float32, ps int, src []float32, ld, cols, w, kc int)
}

// run computes p with kern, splitting the output between up to threads
// goroutines when the work m·n·k is at least minWork. p has been checked.
func run(p *problem, kern *kernels, threads, minWork int) {
	if p.m == 0 || p.n == 0 {
		return
	}
	if p.k == 0 {
		if !p.acc {
			for i := 0; i < p.m; i++ {
				clear(p.out[i*p.ldo : i*p.ldo+p.n])
			}
		}
		return
	}
	// The method is chosen for the whole product, before it is split, so
	// that every element is summed in the same order whatever threads is.
	meth := method(p)
	if threads <= 1 || p.m*p.n*p.k < minWork || (meth == methGemvNT && p.m == 1 && 4*p.n*p.k < splitMinBytes) {
		compute(meth, p, kern)
		return
	}
	// Split the larger dimension (counted in register tiles) into contiguous
	// ranges, rounded to whole tiles so that no tile straddles two workers.
	splitN := p.m == 1 || (p.n+kern.nr-1)/kern.nr >= (p.m+kern.mr-1)/kern.mr
	size, unit := p.m, kern.mr
	if splitN {
		size, unit = p.n, kern.nr
	}
	units := (size + unit - 1) / unit
	if threads > units {
		threads = units
	}
	if threads <= 1 {
		compute(meth, p, kern)
		return
	}
	var wg sync.WaitGroup
	for t := threads - 1; t >= 0; t-- {
		lo := units * t / threads * unit
		hi := min(units*(t+1)/threads*unit, size)
		if lo >= hi {
			continue
		}
		sub := *p
		if splitN {
			sub.n = hi - lo
			sub.out = p.out[lo:]
			if p.bT {
				sub.b = p.b[lo*p.ldb:]
			} else {
				sub.b = p.b[lo:]
			}
		} else {
			sub.m = hi - lo
			sub.out = p.out[lo*p.ldo:]
			if p.aT {
				sub.a = p.a[lo:]
			} else {
				sub.a = p.a[lo*p.lda:]
			}
		}
		if t == 0 { // the first range runs on the calling goroutine
			compute(meth, &sub, kern)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			compute(meth, &sub, kern)
		}()
	}
	wg.Wait()
}

// productMethod is a way to compute a product.
type productMethod int

const (
	methGemvNT         productMethod = iota // gemvNT
	methRowTimesMatrix                      // rowTimesMatrix
	methBlocked                             // blocked
)

// method returns the way to compute p (m, n, k > 0): matrix–vector
// products for a few rows, the packed blocked product otherwise.
func method(p *problem) productMethod {
	switch {
	case p.bT && p.m <= 3:
		return methGemvNT
	case !p.bT && p.m == 1:
		return methRowTimesMatrix
	default:
		return methBlocked
	}
}

// compute runs method meth on p. The calls are direct (not through a func
// value) so that p, usually on the caller's stack, does not escape to the
// heap.
func compute(meth productMethod, p *problem, kern *kernels) {
	switch meth {
	case methGemvNT:
		gemvNT(p, kern)
	case methRowTimesMatrix:
		rowTimesMatrix(p, kern)
	default:
		blocked(p, kern)
	}
}

// gemvNT computes a few rows of NT as matrix–vector products, streaming B
// once per row of A: out[i, j] (+)= a_i · b_j.
func gemvNT(p *problem, kern *kernels) {
	k := p.k
	for i := 0; i < p.m; i++ {
		x := p.a[i*p.lda : i*p.lda+k]                   // [k]
		o := p.out[i*p.ldo : i*p.ldo+p.n : i*p.ldo+p.n] // [n]
		j := 0
		for ; j+4 <= p.n; j += 4 {
			r := kern.dot4(x, p.b[j*p.ldb:], p.ldb)
			if p.acc {
				o[j] += r[0]
				o[j+1] += r[1]
				o[j+2] += r[2]
				o[j+3] += r[3]
			} else {
				o[j], o[j+1], o[j+2], o[j+3] = r[0], r[1], r[2], r[3]
			}
		}
		for ; j < p.n; j++ {
			d := kern.dot(x, p.b[j*p.ldb:j*p.ldb+k])
			if p.acc {
				o[j] += d
			} else {
				o[j] = d
			}
		}
	}
}

// rowTimesMatrix computes the one-row product out[0,:] (+)= Σ_p A(0,p)·B(p,:)
// for a row-major B as a sequence of axpys over four rows of B at a time,
// streaming B once.
func rowTimesMatrix(p *problem, kern *kernels) {
	n := p.n
	o := p.out[:n] // [n]
	if !p.acc {
		clear(o)
	}
	step := 1 // distance between A(0,q) and A(0,q+1)
	if p.aT {
		step = p.lda
	}
	q := 0
	for ; q+4 <= p.k; q += 4 {
		alpha := [4]float32{p.a[q*step], p.a[(q+1)*step], p.a[(q+2)*step], p.a[(q+3)*step]}
		kern.axpy4(alpha, p.b[q*p.ldb:], p.ldb, o)
	}
	for ; q < p.k; q++ {
		kern.axpy(p.a[q*step], p.b[q*p.ldb:q*p.ldb+n], o)
	}
}

// blocked computes p with packed operands and the register-tiled micro
// kernel. k is split into equal blocks of at most kern.kc.
//
// When m fits one m block (m ≤ kern.mc), all of A is packed once and B is
// packed in small blocks just before use, so that the packed B stays in L1
// (NT: one micro-panel) or L2 (NN, TN: a few panels, packed row by row).
// Otherwise a kc×nc block of B is packed once and reused by every mc×kc
// block of A (the classic Goto loop order).
func blocked(p *problem, kern *kernels) {
	nkb := (p.k + kern.kc - 1) / kern.kc
	kcMax := (p.k + nkb - 1) / nkb
	if p.m <= kern.mc {
		blockedSmallM(p, kern, kcMax)
	} else {
		blockedLargeM(p, kern, kcMax)
	}
}

// panelStride returns the distance (floats) between consecutive packed
// panels of kc×w floats: whole 64-byte lines, an odd number of them, so that
// the same row of consecutive panels falls in different cache sets (a
// power-of-two stride would make a row-by-row packer thrash one L1 set).
func panelStride(kc, w int) int {
	lines := (kc*w + 15) / 16
	return (lines | 1) * 16
}

// smallMPanels is how many B micro-panels blockedSmallM packs at once from
// a row-major B.
const smallMPanels = 16

// packBuffers recycles the packing buffers of the blocked products (each
// *[]float32, at most a few MiB: see getPackBuffer), so that a prompt or a
// training step does not leave a buffer of garbage per product. It is a
// cache only: any buffer it holds may be dropped by the garbage collector.
var packBuffers sync.Pool

// getPackBuffer returns a zero-filled buffer of n float32s from packBuffers
// (one too small for n is dropped) or a new one. The caller puts it back.
func getPackBuffer(n int) *[]float32 {
	if bp, ok := packBuffers.Get().(*[]float32); ok && cap(*bp) >= n {
		*bp = (*bp)[:n]
		clear(*bp)
		return bp
	}
	buf := make([]float32, n)
	return &buf
}

// blockedSmallM is blocked for m ≤ kern.mc: A is packed whole, B a few
// panels at a time.
func blockedSmallM(p *problem, kern *kernels, kcMax int) {
	mr, nr := kern.mr, kern.nr
	psA, psB := panelStride(kcMax, mr), panelStride(kcMax, nr)
	blockA := (p.m + mr - 1) / mr * psA // one packed A block [m/mr][psA]
	nkb := (p.k + kcMax - 1) / kcMax
	ncs := nr // columns of B packed at once
	if !p.bT {
		ncs = smallMPanels * nr
	}
	ncs = min(ncs, roundUp(p.n, nr))
	sizeB := ncs / nr * psB
	bp := getPackBuffer(nkb*blockA + sizeB + mr*nr)
	defer packBuffers.Put(bp)
	buf := *bp
	bufA := buf[:nkb*blockA]                   // [k/kc][m/mr][psA ≥ kc·mr] all of A, packed
	bufB := buf[nkb*blockA : nkb*blockA+sizeB] // [ncs/nr][psB ≥ kc·nr] packed B panels
	tile := buf[nkb*blockA+sizeB:]             // [mr, nr] edge tile
	for b, pc := 0, 0; pc < p.k; b, pc = b+1, pc+kcMax {
		packA(bufA[b*blockA:(b+1)*blockA], psA, p, kern, 0, p.m, pc, min(kcMax, p.k-pc))
	}
	for jc := 0; jc < p.n; jc += ncs {
		nc := min(ncs, p.n-jc)
		for b, pc := 0, 0; pc < p.k; b, pc = b+1, pc+kcMax {
			kc := min(kcMax, p.k-pc)
			packB(bufB, psB, p, kern, pc, kc, jc, nc)
			macro(p, kern, bufA[b*blockA:(b+1)*blockA], psA, bufB, psB, 0, p.m, jc, nc, kc, p.acc || pc > 0, tile)
		}
	}
}

// blockedLargeM is blocked for m > kern.mc: Goto's loop order, a packed
// kc×nc block of B shared by the mc×kc blocks of A.
func blockedLargeM(p *problem, kern *kernels, kcMax int) {
	mr, nr := kern.mr, kern.nr
	psA, psB := panelStride(kcMax, mr), panelStride(kcMax, nr)
	sizeA := min(kern.mc, roundUp(p.m, mr)) / mr * psA
	sizeB := min(kern.nc, roundUp(p.n, nr)) / nr * psB
	bp := getPackBuffer(sizeA + sizeB + mr*nr)
	defer packBuffers.Put(bp)
	buf := *bp
	bufA := buf[:sizeA]              // [mc/mr][psA ≥ kc·mr] packed A panels
	bufB := buf[sizeA : sizeA+sizeB] // [nc/nr][psB ≥ kc·nr] packed B panels
	tile := buf[sizeA+sizeB:]        // [mr, nr] edge tile
	for jc := 0; jc < p.n; jc += kern.nc {
		nc := min(kern.nc, p.n-jc)
		for pc := 0; pc < p.k; pc += kcMax {
			kc := min(kcMax, p.k-pc)
			packB(bufB, psB, p, kern, pc, kc, jc, nc)
			for ic := 0; ic < p.m; ic += kern.mc {
				mc := min(kern.mc, p.m-ic)
				packA(bufA, psA, p, kern, ic, mc, pc, kc)
				macro(p, kern, bufA, psA, bufB, psB, ic, mc, jc, nc, kc, p.acc || pc > 0, tile)
			}
		}
	}
}

// macro multiplies the packed blocks ap [mc/mr][psA] and bp [nc/nr][psB]
// (each panel [kc, mr] or [kc, nr]) into out[ic:ic+mc, jc:jc+nc], adding to
// the old values when load. Edge tiles go through tile [mr, nr].
func macro(p *problem, kern *kernels, ap []float32, psA int, bp []float32, psB int, ic, mc, jc, nc, kc int, load bool, tile []float32) {
	mr, nr := kern.mr, kern.nr
	for jr := 0; jr < nc; jr += nr {
		b := bp[jr/nr*psB : jr/nr*psB+kc*nr] // [kc, nr]
		cols := min(nr, nc-jr)
		for ir := 0; ir < mc; ir += mr {
			a := ap[ir/mr*psA : ir/mr*psA+kc*mr] // [kc, mr]
			rows := min(mr, mc-ir)
			off := (ic+ir)*p.ldo + jc + jr
			if rows == mr && cols == nr {
				kern.micro(kc, a, b, p.out[off:], p.ldo, load)
				continue
			}
			kern.micro(kc, a, b, tile, nr, false)
			for r := 0; r < rows; r++ {
				o := p.out[off+r*p.ldo : off+r*p.ldo+cols]
				t := tile[r*nr : r*nr+cols]
				if load {
					for j := range o {
						o[j] += t[j]
					}
				} else {
					copy(o, t)
				}
			}
		}
	}
}

// packA packs the block A(ic:ic+mc, pc:pc+kc) into dst as mr-row panels
// [mc/mr][ps] (each [kc, mr]), zero-padding the last panel.
func packA(dst []float32, ps int, p *problem, kern *kernels, ic, mc, pc, kc int) {
	mr := kern.mr
	if p.aT {
		// A(i,q) = a[q*lda+i]: each q holds mc contiguous values.
		kern.copy(dst, ps, p.a[pc*p.lda+ic:], p.lda, mc, mr, kc)
		return
	}
	// A(i,q) = a[i*lda+q]
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir/mr*ps : ir/mr*ps+kc*mr] // [kc, mr]
		kern.transpose(panel, p.a[(ic+ir)*p.lda+pc:], p.lda, min(mr, mc-ir), mr, kc)
	}
}

// packB packs the block B(pc:pc+kc, jc:jc+nc) into dst as nr-column panels
// [nc/nr][ps] (each [kc, nr]), zero-padding the last panel.
func packB(dst []float32, ps int, p *problem, kern *kernels, pc, kc, jc, nc int) {
	nr := kern.nr
	if !p.bT {
		// B(q,j) = b[q*ldb+j]: each q holds nc contiguous values.
		kern.copy(dst, ps, p.b[pc*p.ldb+jc:], p.ldb, nc, nr, kc)
		return
	}
	// B(q,j) = b[j*ldb+q]
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr/nr*ps : jr/nr*ps+kc*nr] // [kc, nr]
		kern.transpose(panel, p.b[(jc+jr)*p.ldb+pc:], p.ldb, min(nr, nc-jr), nr, kc)
	}
}

// copyPanels fills the panels dst [⌈cols/w⌉][ps] (each [kc, w]) from kc rows
// of cols values (row stride ld): dst[(c/w)*ps + q*w + c%w] = src[q*ld+c],
// zero past cols. It walks the source row by row so that it reads memory in
// order.
func copyPanels(dst []float32, ps int, src []float32, ld, cols, w, kc int) {
	full := cols / w // panels without padding
	rest := cols - full*w
	for q := 0; q < kc; q++ {
		s := src[q*ld : q*ld+cols] // [cols]
		for c := 0; c < full; c++ {
			copy(dst[c*ps+q*w:c*ps+q*w+w], s[c*w:c*w+w])
		}
		if rest > 0 {
			d := dst[full*ps+q*w : full*ps+q*w+w]
			copy(d, s[full*w:])
			clear(d[rest:])
		}
	}
}

// transposePanel fills dst [kc, w] with dst[q*w+r] = src[r*ld+q] for r < rows
// and zero for rows ≤ r < w.
func transposePanel(dst, src []float32, ld, rows, w, kc int) {
	for r := 0; r < rows; r++ {
		s := src[r*ld : r*ld+kc] // [kc]
		for q, v := range s {
			dst[q*w+r] = v
		}
	}
	for r := rows; r < w; r++ {
		for q := 0; q < kc; q++ {
			dst[q*w+r] = 0
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
