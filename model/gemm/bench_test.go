package gemm

import (
	"fmt"
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

// timeIt returns the best seconds per call of f over a few repetitions of at
// least budget each.
func timeIt(f func(), budget time.Duration) float64 {
	f() // warm up caches and page in the buffers
	best := 0.0
	for rep := 0; rep < 3; rep++ {
		start := time.Now()
		calls := 0
		for time.Since(start) < budget || calls == 0 {
			f()
			calls++
		}
		s := time.Since(start).Seconds() / float64(calls)
		if best == 0 || s < best {
			best = s
		}
	}
	return best
}

// TestPerformanceTable prints a GFLOP/s table of every product on the model's
// shapes, single-threaded, with two threads, and for the naive triple loop,
// all measured in the same run. Set GEMM_TABLE=1 to run it (about a minute;
// GEMM_TABLE=full also times the naive loop on every shape).
func TestPerformanceTable(t *testing.T) {
	mode := os.Getenv("GEMM_TABLE")
	if mode == "" {
		t.Skip("set GEMM_TABLE=1 to print the performance table")
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "kernels: %s\n\n", defaultKernels.name)
	fmt.Fprintf(&sb, "| op | m | n | k | 1 thread GFLOP/s | 2 threads GFLOP/s | naive GFLOP/s | speed-up 1t/naive |\n")
	fmt.Fprintf(&sb, "|---|---|---|---|---|---|---|---|\n")
	for _, o := range []op{opNT, opNN, opTN} {
		for _, m := range benchM {
			for _, nk := range benchNK {
				n, k := nk[0], nk[1]
				out, a, b, product := benchOperands(o, m, n, k)
				flop := 2 * float64(m) * float64(n) * float64(k)
				gf := func(sec float64) float64 { return flop / sec / 1e9 }
				t1 := timeIt(func() { product(1) }, 100*time.Millisecond)
				t2 := timeIt(func() { product(2) }, 100*time.Millisecond)
				naiveCell, ratio := "—", "—"
				if mode == "full" || flop <= 2e8 {
					tn := timeIt(func() { naive(o, out, a, b, m, n, k, false) }, 0)
					naiveCell = fmt.Sprintf("%.2f", gf(tn))
					ratio = fmt.Sprintf("%.0f×", tn/t1)
				}
				extra := ""
				if m == 1 {
					extra = fmt.Sprintf(" (%.1f GB/s)", 4*float64(n)*float64(k)/t1/1e9)
				}
				fmt.Fprintf(&sb, "| %v | %d | %d | %d | %.1f%s | %.1f | %s | %s |\n",
					o, m, n, k, gf(t1), extra, gf(t2), naiveCell, ratio)
			}
		}
	}
	t.Log("\n" + sb.String())
}
