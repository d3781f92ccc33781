//go:build !amd64 || purego

package gemm

// qkern is the quantized-dot implementation: portable Go here.
var qkern = goQKernels
