//go:build !amd64 || purego

package gemm

// testKernels lists every implementation this machine can run.
func testKernels() []*kernels { return []*kernels{goKernels} }
