//go:build amd64 && !purego

package cpufeat

// VNNI is true when F16C holds and the CPU has the 256-bit AVX-512 VNNI
// dot products (AVX512-VNNI with AVX512-VL: VPDPBUSD on YMM registers) with
// the AVX-512 state enabled by the operating system.
var VNNI = F16C && hasVNNI()

func hasVNNI() bool {
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 { // XMM, YMM, opmask, ZMM state
		return false
	}
	_, ebx7, ecx7, _ := cpuid(7, 0)
	const (
		avx512f  = 1 << 16 // EBX
		avx512vl = 1 << 31 // EBX
		vnni     = 1 << 11 // ECX
	)
	return ebx7&(avx512f|avx512vl) == avx512f|avx512vl && ecx7&vnni != 0
}
