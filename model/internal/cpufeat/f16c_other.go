//go:build !amd64 || purego

package cpufeat

// F16C is true when AVX2FMA holds and the CPU converts halves (F16C).
var F16C = false
