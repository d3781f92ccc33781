//go:build amd64 && !purego

package gemm

// testKernels lists every implementation this machine can run.
func testKernels() []*kernels {
	if hasAVX2FMA() {
		return []*kernels{goKernels, avxKernels}
	}
	return []*kernels{goKernels}
}
