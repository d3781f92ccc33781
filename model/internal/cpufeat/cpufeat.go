// Package cpufeat reports the CPU features the assembly kernels of the
// model packages need, decided once at start-up.
package cpufeat

// AVX2FMA is true when the CPU has AVX2 and FMA and the operating system
// saves the YMM registers across context switches (always false off amd64
// and in purego builds).
var AVX2FMA = hasAVX2FMA()
