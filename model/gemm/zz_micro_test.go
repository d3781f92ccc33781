package gemm

import (
	"fmt"
	"testing"
)

func BenchmarkMicro(b *testing.B) {
	kc := 256
	ap := make([]float32, kc*6)
	bp := make([]float32, kc*16)
	c := make([]float32, 6*16)
	for i := range ap {
		ap[i] = 1e-3
	}
	for i := range bp {
		bp[i] = 1e-3
	}
	for b.Loop() {
		for r := 0; r < 100; r++ {
			microAVX6x16(kc, ap, bp, c, 16, true)
		}
	}
	b.ReportMetric(2*6*16*float64(kc)*100*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
func BenchmarkPack16(b *testing.B) {
	for _, n := range []int{16, 128, 512, 2048} {
		k := 512
		src := make([]float32, n*k)
		dst := make([]float32, 256*16)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				for j := 0; j+16 <= n; j += 16 {
					for pc := 0; pc < k; pc += 256 {
						transposeAVX(dst, src[j*k+pc:], k, 16, 16, 256)
					}
				}
			}
			b.ReportMetric(float64(n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
func BenchmarkPack6(b *testing.B) {
	for _, n := range []int{6, 64, 512} {
		k := 512
		src := make([]float32, n*k)
		dst := make([]float32, 256*6)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				for j := 0; j+6 <= n; j += 6 {
					for pc := 0; pc < k; pc += 256 {
						transposeAVX(dst, src[j*k+pc:], k, 6, 6, 256)
					}
				}
			}
			b.ReportMetric(float64(n/6*6*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
func BenchmarkPackABlock(b *testing.B) {
	m, k := 64, 512
	a := make([]float32, m*k)
	p := problem{a: a, lda: k, m: m, n: 128, k: k}
	buf := make([]float32, 66*256)
	b.Run("block", func(b *testing.B) {
		for b.Loop() {
			packA(buf, &p, avxKernels, 0, 64, 0, 256)
			packA(buf, &p, avxKernels, 0, 64, 256, 256)
		}
		b.ReportMetric(float64(m*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
	})
}
