package gemm

import "sync"

const (
	// serialFlops is the amount of work (m·n·k) under which spawning
	// goroutines costs more than it saves.
	serialFlops = 1 << 16
)

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

	// dot4 stores in out[r] the dot product of x [k] with the rows
	// b[r*ldb : r*ldb+k] for r < 4.
	dot4 func(x, b []float32, ldb int, out *[4]float32)

	dot   func(a, b []float32) float32
	axpy  func(alpha float32, x, y []float32)
	scale func(alpha float32, x []float32)

	// transpose fills the packed panel dst [kc, w] (w = mr or nr) from rows
	// rows of src with stride ld: dst[q*w+r] = src[r*ld+q] for r < rows, zero
	// for rows ≤ r < w.
	transpose func(dst, src []float32, ld, rows, w, kc int)
	// copy fills the packed panel dst [kc, w] from kc rows of src with stride
	// ld: dst[q*w+c] = src[q*ld+c] for c < cols, zero for cols ≤ c < w.
	copy func(dst, src []float32, ld, cols, w, kc int)
}

// run computes p with kern, splitting the output between up to threads
// goroutines. p has been checked.
func run(p *problem, kern *kernels, threads int) {
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
	if threads <= 1 || p.m*p.n*p.k < serialFlops {
		serial(p, kern)
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
		serial(p, kern)
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
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
		wg.Add(1)
		go func() {
			defer wg.Done()
			serial(&sub, kern)
		}()
	}
	wg.Wait()
}

// serial computes p on the calling goroutine. m, n, k > 0.
func serial(p *problem, kern *kernels) {
	switch {
	case p.bT && p.m <= 2:
		gemvNT(p, kern)
	case !p.bT && p.m == 1:
		rowTimesMatrix(p, kern)
	default:
		blocked(p, kern)
	}
}

// gemvNT computes a few rows of NT as matrix–vector products, streaming B
// once per row of A: out[i, j] (+)= a_i · b_j.
func gemvNT(p *problem, kern *kernels) {
	k := p.k
	var r [4]float32
	for i := 0; i < p.m; i++ {
		x := p.a[i*p.lda : i*p.lda+k]                   // [k]
		o := p.out[i*p.ldo : i*p.ldo+p.n : i*p.ldo+p.n] // [n]
		j := 0
		for ; j+4 <= p.n; j += 4 {
			kern.dot4(x, p.b[j*p.ldb:], p.ldb, &r)
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
// for a row-major B as a sequence of axpys, streaming B once.
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
	for q := 0; q < p.k; q++ {
		kern.axpy(p.a[q*step], p.b[q*p.ldb:q*p.ldb+n], o)
	}
}

// blocked computes p with packed operands and the register-tiled micro
// kernel, blocking k by kern.kc, m by kern.mc and n by kern.nc.
//
// When m fits one m block every packed B micro-panel is used by one A block
// only, so it is packed just before use into a buffer that stays in L1;
// otherwise a whole kc×nc block of B is packed once and reused by every A
// block.
func blocked(p *problem, kern *kernels) {
	mr, nr := kern.mr, kern.nr
	mcBlock, ncBlock := kern.mc, kern.nc
	// Split k into equal blocks no larger than kern.kc.
	nkb := (p.k + kern.kc - 1) / kern.kc
	kcMax := (p.k + nkb - 1) / nkb
	mcMax := min(mcBlock, roundUp(p.m, mr))
	ncMax := min(ncBlock, roundUp(p.n, nr))
	onTheFly := p.m <= mcBlock
	ncStep := ncBlock
	if onTheFly {
		ncMax, ncStep = nr, p.n
	}
	buf := make([]float32, mcMax*kcMax+kcMax*ncMax+mr*nr)
	bufA := buf[:mcMax*kcMax]                          // [mcMax/mr][kc][mr] packed A panels
	bufB := buf[mcMax*kcMax : mcMax*kcMax+kcMax*ncMax] // [ncMax/nr][kc][nr] packed B panels
	tile := buf[mcMax*kcMax+kcMax*ncMax:]              // [mr, nr] edge tile
	for jc := 0; jc < p.n; jc += ncStep {
		nc := min(ncStep, p.n-jc)
		for pc := 0; pc < p.k; pc += kcMax {
			kc := min(kcMax, p.k-pc)
			if !onTheFly {
				packB(bufB, p, kern, pc, kc, jc, nc)
			}
			load := p.acc || pc > 0
			for ic := 0; ic < p.m; ic += mcBlock {
				mc := min(mcBlock, p.m-ic)
				packA(bufA, p, kern, ic, mc, pc, kc)
				for jr := 0; jr < nc; jr += nr {
					cols := min(nr, nc-jr)
					var bp []float32 // [kc, nr]
					if onTheFly {
						bp = bufB[:kc*nr]
						packB(bp, p, kern, pc, kc, jc+jr, cols)
					} else {
						bp = bufB[jr*kc : (jr+nr)*kc]
					}
					for ir := 0; ir < mc; ir += mr {
						ap := bufA[ir*kc : (ir+mr)*kc] // [kc, mr]
						rows := min(mr, mc-ir)
						off := (ic+ir)*p.ldo + jc + jr
						if rows == mr && cols == nr {
							kern.micro(kc, ap, bp, p.out[off:], p.ldo, load)
							continue
						}
						kern.micro(kc, ap, bp, tile, nr, false)
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
		}
	}
}

// packA packs the block A(ic:ic+mc, pc:pc+kc) into dst as mr-row panels
// [mc/mr][kc][mr], zero-padding the last panel.
func packA(dst []float32, p *problem, kern *kernels, ic, mc, pc, kc int) {
	mr := kern.mr
	for ir := 0; ir < mc; ir += mr {
		panel := dst[ir*kc : (ir+mr)*kc] // [kc, mr]
		rows := min(mr, mc-ir)
		i0 := ic + ir
		if p.aT {
			// A(i,q) = a[q*lda+i]: each q contributes rows contiguous values.
			kern.copy(panel, p.a[pc*p.lda+i0:], p.lda, rows, mr, kc)
			continue
		}
		// A(i,q) = a[i*lda+q]
		kern.transpose(panel, p.a[i0*p.lda+pc:], p.lda, rows, mr, kc)
	}
}

// packB packs the block B(pc:pc+kc, jc:jc+nc) into dst as nr-column
// panels [nc/nr][kc][nr], zero-padding the last panel.
func packB(dst []float32, p *problem, kern *kernels, pc, kc, jc, nc int) {
	nr := kern.nr
	for jr := 0; jr < nc; jr += nr {
		panel := dst[jr*kc : (jr+nr)*kc] // [kc, nr]
		cols := min(nr, nc-jr)
		j0 := jc + jr
		if !p.bT {
			// B(q,j) = b[q*ldb+j]
			kern.copy(panel, p.b[pc*p.ldb+j0:], p.ldb, cols, nr, kc)
			continue
		}
		// B(q,j) = b[j*ldb+q]
		kern.transpose(panel, p.b[j0*p.ldb+pc:], p.ldb, cols, nr, kc)
	}
}

// copyPanel fills dst [kc, w] with dst[q*w+c] = src[q*ld+c] for c < cols and
// zero for cols ≤ c < w.
func copyPanel(dst, src []float32, ld, cols, w, kc int) {
	for q := 0; q < kc; q++ {
		d := dst[q*w : q*w+w : q*w+w]
		copy(d, src[q*ld:q*ld+cols])
		if cols < w {
			clear(d[cols:])
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
