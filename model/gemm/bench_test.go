package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// benchShapes are the linear layers of minimind2-small: (n, k) for the
// attention projections (q/o 512×512, k/v 128×512), the MLP (1408×512,
// 512×1408) and the output head (6400×512), at m tokens.
var (
	benchM  = []int{1, 64, 256, 1024}
	benchNK = [][2]int{{512, 512}, {128, 512}, {1408, 512}, {512, 1408}, {6400, 512}}
)

// naive is the textbook triple loop, the baseline the kernels are compared
// against.
func naive(o op, out, a, b []float32, m, n, k int, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				switch o {
				case opNT:
					s += a[i*k+p] * b[j*k+p]
				case opNN:
					s += a[i*k+p] * b[p*n+j]
				default:
					s += a[p*m+i] * b[p*n+j]
				}
			}
			if acc {
				out[i*n+j] += s
			} else {
				out[i*n+j] = s
			}
		}
	}
}

// benchOperands returns random dense operands of o for the shape and a
// function computing the product with the public API.
func benchOperands(o op, m, n, k int) (out, a, b []float32, product func(threads int)) {
	rng := rand.New(rand.NewPCG(1, 1))
	ar, ac, br, bc := o.dims(m, n, k)
	out, a, b = make([]float32, m*n), randMat(rng, ar, ac), randMat(rng, br, bc)
	product = func(threads int) { call(o, nil, out, n, a, ac, b, bc, m, n, k, false, threads) }
	return out, a, b, product
}

func benchProduct(b *testing.B, o op) {
	for _, m := range benchM {
		for _, nk := range benchNK {
			n, k := nk[0], nk[1]
			_, _, _, product := benchOperands(o, m, n, k)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("m%d_n%d_k%d/t%d", m, n, k, threads), func(b *testing.B) {
					for b.Loop() {
						product(threads)
					}
					reportFlops(b, m, n, k)
				})
			}
		}
	}
}

func reportFlops(b *testing.B, m, n, k int) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)/sec/1e9, "GFLOP/s")
	if m == 1 {
		b.ReportMetric(4*float64(n)*float64(k)/sec/1e9, "GB/s")
	}
}

func BenchmarkNT(b *testing.B) { benchProduct(b, opNT) }
func BenchmarkNN(b *testing.B) { benchProduct(b, opNN) }
func BenchmarkTN(b *testing.B) { benchProduct(b, opTN) }

// BenchmarkNaiveNT is the triple loop on the same shapes, for the ratio.
func BenchmarkNaiveNT(b *testing.B) {
	for _, m := range benchM {
		for _, nk := range benchNK {
			n, k := nk[0], nk[1]
			out, a, bb, _ := benchOperands(opNT, m, n, k)
			b.Run(fmt.Sprintf("m%d_n%d_k%d", m, n, k), func(b *testing.B) {
				for b.Loop() {
					naive(opNT, out, a, bb, m, n, k, false)
				}
				reportFlops(b, m, n, k)
			})
		}
	}
}

// microCeiling returns the GFLOP/s of the micro kernel alone on panels that
// stay in L1: the practical peak the products are measured against.
func microCeiling(kern *kernels, budget time.Duration) float64 {
	const kc = 256
	ap := make([]float32, kc*kern.mr) // [kc, mr]
	bp := make([]float32, kc*kern.nr) // [kc, nr]
	c := make([]float32, kern.mr*kern.nr)
	for i := range ap {
		ap[i] = 1e-3
	}
	for i := range bp {
		bp[i] = 1e-3
	}
	sec := timeIt(func() { kern.micro(kc, ap, bp, c, kern.nr, false) }, budget)
	return 2 * float64(kc*kern.mr*kern.nr) / sec / 1e9
}

// BenchmarkMicroKernel times the register-tiled micro kernel on L1-resident
// panels.
func BenchmarkMicroKernel(b *testing.B) {
	const kc = 256
	kern := defaultKernels
	ap := make([]float32, kc*kern.mr)
	bp := make([]float32, kc*kern.nr)
	c := make([]float32, kern.mr*kern.nr)
	for b.Loop() {
		kern.micro(kc, ap, bp, c, kern.nr, false)
	}
	b.ReportMetric(2*float64(kc*kern.mr*kern.nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// timeIt returns the fastest seconds per call of f seen in batches of about
// 200µs over a total of about budget. The minimum over short batches filters
// out the time the process spent descheduled on a shared machine.
func timeIt(f func(), budget time.Duration) float64 {
	f() // warm up caches and page in the buffers
	start := time.Now()
	f()
	per := time.Since(start)
	batch := max(1, int(200*time.Microsecond/max(per, time.Nanosecond)))
	best := math.Inf(1)
	for begin := time.Now(); ; {
		t0 := time.Now()
		for range batch {
			f()
		}
		best = min(best, time.Since(t0).Seconds()/float64(batch))
		if time.Since(begin) >= budget {
			return best
		}
	}
}

// TestPerformanceTable prints a GFLOP/s table of every product on the model's
// shapes, single-threaded, with two threads, and for the naive triple loop,
// all measured in the same run. Set GEMM_TABLE=1 to run it (about two
// minutes; GEMM_TABLE=full also times the naive loop on the large shapes).
// GEMM_TABLE_M=64 restricts it to one m; GEMM_TABLE_PASSES=n (default 3)
// sets how many passes over the shapes are made, keeping each cell's best,
// so that a burst of load on a shared machine does not spoil a cell.
func TestPerformanceTable(t *testing.T) {
	mode := os.Getenv("GEMM_TABLE")
	if mode == "" {
		t.Skip("set GEMM_TABLE=1 to print the performance table")
	}
	passes := 3
	if s := os.Getenv("GEMM_TABLE_PASSES"); s != "" {
		if _, err := fmt.Sscan(s, &passes); err != nil || passes < 1 {
			t.Fatalf("GEMM_TABLE_PASSES=%q: want a positive integer", s)
		}
	}
	type row struct {
		o          op
		m, n, k    int
		t1, t2, tn float64 // best seconds per call; tn 0 when not timed
	}
	var rows []*row
	for _, o := range []op{opNT, opNN, opTN} {
		for _, m := range benchM {
			if only := os.Getenv("GEMM_TABLE_M"); only != "" && only != fmt.Sprint(m) {
				continue
			}
			for _, nk := range benchNK {
				rows = append(rows, &row{o: o, m: m, n: nk[0], k: nk[1]})
			}
		}
	}
	best := func(old, s float64) float64 {
		if old == 0 || s < old {
			return s
		}
		return old
	}
	ceiling := 0.0
	for pass := 0; pass < passes; pass++ {
		ceiling = max(ceiling, microCeiling(defaultKernels, 100*time.Millisecond))
		for _, r := range rows {
			out, a, b, product := benchOperands(r.o, r.m, r.n, r.k)
			r.t1 = best(r.t1, timeIt(func() { product(1) }, 100*time.Millisecond))
			r.t2 = best(r.t2, timeIt(func() { product(2) }, 100*time.Millisecond))
			if mode == "full" || 2*r.m*r.n*r.k <= 2e8 {
				r.tn = best(r.tn, timeIt(func() { naive(r.o, out, a, b, r.m, r.n, r.k, false) }, 0))
			}
		}
	}
	// Decoding streams every weight matrix from memory once per token: time
	// m = 1 over a set of weights far larger than the caches.
	const coldN, coldK, coldCount = 1408, 512, 24 // 24 × 2.9 MB = 69 MB
	cold := make([][]float32, coldCount)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range cold {
		cold[i] = randMat(rng, coldN, coldK)
	}
	x := randMat(rng, 1, coldK)
	y := make([]float32, coldN)
	var cold1, cold2 float64
	for pass := 0; pass < passes; pass++ {
		for _, threads := range []int{1, 2} {
			next := 0
			s := timeIt(func() {
				NT(y, x, cold[next], 1, coldN, coldK, false, threads)
				next = (next + 1) % coldCount
			}, 200*time.Millisecond)
			if threads == 1 {
				cold1 = best(cold1, s)
			} else {
				cold2 = best(cold2, s)
			}
		}
	}
	coldBytes := 4 * float64(coldN*coldK)

	var sb strings.Builder
	fmt.Fprintf(&sb, "kernels: %s (%d×%d micro kernel: %.1f GFLOP/s on L1-resident panels); best of %d passes\n\n",
		defaultKernels.name, defaultKernels.mr, defaultKernels.nr, ceiling, passes)
	fmt.Fprintf(&sb, "| op | m | n | k | 1 thread GFLOP/s | 2 threads GFLOP/s | naive GFLOP/s | speed-up 1t/naive |\n")
	fmt.Fprintf(&sb, "|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		flop := 2 * float64(r.m) * float64(r.n) * float64(r.k)
		naiveCell, ratio := "—", "—"
		if r.tn > 0 {
			naiveCell = fmt.Sprintf("%.2f", flop/r.tn/1e9)
			ratio = fmt.Sprintf("%.0f×", r.tn/r.t1)
		}
		extra := ""
		if r.m == 1 {
			extra = fmt.Sprintf(" (%.1f GB/s)", 4*float64(r.n)*float64(r.k)/r.t1/1e9)
		}
		fmt.Fprintf(&sb, "| %v | %d | %d | %d | %.1f%s | %.1f | %s | %s |\n",
			r.o, r.m, r.n, r.k, flop/r.t1/1e9, extra, flop/r.t2/1e9, naiveCell, ratio)
	}
	fmt.Fprintf(&sb, "\nNT m=1 over %d weights [%d, %d] (%.0f MB, beyond the caches): %.1f GB/s with 1 thread, %.1f GB/s with 2\n",
		coldCount, coldN, coldK, coldCount*coldBytes/1e6, coldBytes/cold1/1e9, coldBytes/cold2/1e9)
	t.Log("\n" + sb.String())
}
