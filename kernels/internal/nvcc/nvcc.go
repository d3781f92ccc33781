// Package nvcc holds how the kernels are compiled, shared by package kernels,
// its generator and its tests (the generator cannot import package kernels,
// which embeds the generator's output).
package nvcc

// Arch is the virtual GPU architecture the PTX is generated for.
const Arch = "sm_80"

// Sources lists the kernel source files; each becomes the PTX module of the
// same base name.
var Sources = []string{"attention.cu", "attention_tc.cu", "elementwise.cu", "gemm.cu", "norm.cu", "rope.cu", "rows.cu", "softmax.cu"}

// Args returns the arguments with which nvcc compiles src to PTX file out.
func Args(src, out string) []string {
	return []string{"-ptx", "-arch=" + Arch, "-O3", "-std=c++17", "-o", out, src}
}
