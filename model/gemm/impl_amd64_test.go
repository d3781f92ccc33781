//go:build amd64 && !purego

package gemm

import "github.com/minimind-go/minimind/model/internal/cpufeat"

// testKernels lists every implementation this machine can run.
func testKernels() []*kernels {
	if cpufeat.AVX2FMA {
		return []*kernels{goKernels, avxKernels}
	}
	return []*kernels{goKernels}
}
