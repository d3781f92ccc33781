//go:build cuda || cudaemu

package cuda

import "unsafe"

// devPtr is a device address (CUdeviceptr; a host address in the emulator).
type devPtr uint64

// dataType names the element type of a cuBLASLt operand.
type dataType int

const (
	f32  dataType = iota // float32
	bf16                 // bfloat16
)

// backend is what the engine needs from a device: memory, copies, kernel
// launches by name on one in-order stream, and optionally a vendor GEMM. The
// cuda build tag selects the driver (gorgonia.org/cu + cuBLASLt); the
// cudaemu tag selects the CPU emulation used by tests without a GPU.
type backend interface {
	alloc(bytes int) (devPtr, error)
	free(p devPtr) error
	htod(dst devPtr, src unsafe.Pointer, bytes int) error
	dtoh(dst unsafe.Pointer, src devPtr, bytes int) error // waits for the work before it
	dtod(dst, src devPtr, bytes int) error
	memsetD32(dst devPtr, v uint32, n int) error
	// launch runs kernel name; each argument is one 8-byte slot holding a
	// pointer or a scalar in its low bytes.
	launch(name string, grid, block dim3, args []uint64) error
	// matmul runs a column-major cuBLASLt product (see ltCall); ok is false
	// when the backend has no cuBLASLt.
	matmul(c ltCall, t dataType, x, y, d devPtr, alpha, beta float32) (ok bool, err error)
	hasMatmul() bool
	sync() error
	info() DeviceInfo
	// gridCap is the most blocks worth launching for a grid-stride kernel.
	gridCap() int
	close() error
}
