//go:build !amd64 || purego

package cpufeat

// VNNI is true when the CPU has the 256-bit AVX-512 VNNI dot products; never
// here.
var VNNI = false
