//go:build !amd64 || purego

package gemm

// defaultKernels is the implementation behind the public functions: the
// portable one on this target.
var defaultKernels = goKernels
