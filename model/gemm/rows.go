package gemm

import "sync"

// NTRows computes out[m,n] = a[m,k] · b[n,k]ᵀ so that every row of out is bit
// for bit the row that NT computes for that row of a alone (m = 1), whatever
// m and threads are. A batched decoder uses it to make a sequence's logits
// independent of the other sequences in the batch (batch invariance), while
// b (the weight) is still streamed from memory once for all rows: the rows
// of b are taken four at a time and multiplied with every row of a while
// they sit in cache. It panics if a slice is too short for its dimensions.
func NTRows(out, a, b []float32, m, n, k int, threads int) {
	p := problem{out: out, ldo: n, a: a, lda: k, b: b, ldb: k, m: m, n: n, k: k, bT: true}
	p.check("NTRows")
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		clear(out[:m*n])
		return
	}
	kern := defaultKernels
	// Columns are split between goroutines in whole groups of four, as NT's
	// matrix–vector path groups them (columns past the last whole group use
	// a plain dot product there and here).
	groups := (n + 3) / 4
	if threads > groups {
		threads = groups
	}
	if threads <= 1 || m*n*k < serialFlops {
		ntRows(&p, kern, 0, n)
		return
	}
	ntRowsParallel(p, kern, groups, threads)
}

// ntRowsParallel computes p's columns, whole groups of four split between
// threads goroutines. It takes p by value so that only this path, not the
// serial one, moves a copy of it to the heap for the goroutines.
func ntRowsParallel(p problem, kern *kernels, groups, threads int) {
	n := p.n
	var wg sync.WaitGroup
	for t := 1; t < threads; t++ {
		lo, hi := groups*t/threads*4, min(groups*(t+1)/threads*4, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ntRows(&p, kern, lo, hi)
		}()
	}
	ntRows(&p, kern, 0, min(groups/threads*4, n))
	wg.Wait()
}

// ntRows computes the columns [lo, hi) of p (lo a multiple of 4) exactly as
// gemvNT computes them for a single row: dot4 for each whole group of four
// columns below n&^3, dot for the last n%4 columns.
func ntRows(p *problem, kern *kernels, lo, hi int) {
	k, whole := p.k, p.n&^3
	j := lo
	for ; j+4 <= hi && j+4 <= whole; j += 4 {
		bj := p.b[j*p.ldb:] // rows j..j+3 of b, [4, k] at stride ldb
		for i := 0; i < p.m; i++ {
			r := kern.dot4(p.a[i*p.lda:i*p.lda+k], bj, p.ldb)
			o := p.out[i*p.ldo+j : i*p.ldo+j+4]
			o[0], o[1], o[2], o[3] = r[0], r[1], r[2], r[3]
		}
	}
	for ; j < hi; j++ {
		bj := p.b[j*p.ldb : j*p.ldb+k] // [k]
		for i := 0; i < p.m; i++ {
			p.out[i*p.ldo+j] = kern.dot(p.a[i*p.lda:i*p.lda+k], bj)
		}
	}
}
