//go:build amd64 && !purego

package cpufeat

// F16C is true when AVX2FMA holds and the CPU converts halves (F16C).
var F16C = AVX2FMA && hasF16C()

func hasF16C() bool {
	_, _, ecx1, _ := cpuid(1, 0)
	const f16c = 1 << 29
	return ecx1&f16c != 0
}
