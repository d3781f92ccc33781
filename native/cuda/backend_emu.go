//go:build cudaemu && !cuda

package cuda

// #cgo CXXFLAGS: -std=c++17 -O2 -fno-strict-aliasing -Wno-unknown-pragmas
// #cgo LDFLAGS: -lstdc++ -lm
// #include <stdlib.h>
// #include <string.h>
// #include "emu.h"
// static void* mm_ptr(uint64_t p) { return (void*)(uintptr_t)p; }
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// emuBackend runs the kernels on the CPU emulation of CUDA (build tag
// cudaemu): device memory is host memory from malloc, every call is
// synchronous, and there is no cuBLASLt (the engine's own GEMM kernels run).
type emuBackend struct {
	kernels map[string]emuKernel
	workers int
}

type emuKernel struct{ idx, nargs int }

func openBackend(opts Options) (backend, error) {
	if opts.Device != 0 {
		return nil, fmt.Errorf("cuda: the CPU emulation has only device 0, not %d", opts.Device)
	}
	return &emuBackend{kernels: map[string]emuKernel{}, workers: min(runtime.NumCPU(), 4)}, nil
}

// hostPtr is the host address behind an emulated device pointer.
func hostPtr(p devPtr) unsafe.Pointer { return C.mm_ptr(C.uint64_t(p)) }

func (b *emuBackend) alloc(bytes int) (devPtr, error) {
	p := C.malloc(C.size_t(max(bytes, 1)))
	if p == nil {
		return 0, errors.New("out of memory")
	}
	return devPtr(uintptr(p)), nil
}

func (b *emuBackend) free(p devPtr) error {
	C.free(hostPtr(p))
	return nil
}

func (b *emuBackend) htod(dst devPtr, src unsafe.Pointer, bytes int) error {
	C.memcpy(hostPtr(dst), src, C.size_t(bytes))
	return nil
}

func (b *emuBackend) dtoh(dst unsafe.Pointer, src devPtr, bytes int) error {
	C.memcpy(dst, hostPtr(src), C.size_t(bytes))
	return nil
}

func (b *emuBackend) dtod(dst, src devPtr, bytes int) error {
	C.memmove(hostPtr(dst), hostPtr(src), C.size_t(bytes))
	return nil
}

func (b *emuBackend) memsetD32(dst devPtr, v uint32, n int) error {
	s := unsafe.Slice((*uint32)(hostPtr(dst)), n)
	for i := range s {
		s[i] = v
	}
	return nil
}

func (b *emuBackend) launch(name string, grid, block dim3, args []uint64) error {
	k, ok := b.kernels[name]
	if !ok {
		cs := C.CString(name)
		var nargs C.int
		idx := C.mmemu_find(cs, &nargs)
		C.free(unsafe.Pointer(cs))
		if idx < 0 {
			return fmt.Errorf("no kernel named %s", name)
		}
		k = emuKernel{int(idx), int(nargs)}
		b.kernels[name] = k
	}
	if len(args) != k.nargs {
		return fmt.Errorf("%d arguments for a kernel of %d", len(args), k.nargs)
	}
	var cargs *C.uint64_t
	if len(args) > 0 {
		cargs = (*C.uint64_t)(unsafe.Pointer(&args[0]))
	}
	var msg [256]C.char
	if C.mmemu_launch(C.int(k.idx), C.uint(grid.X), C.uint(grid.Y), C.uint(grid.Z), C.uint(block.X), C.uint(block.Y),
		C.uint(block.Z), cargs, C.uint(b.workers), &msg[0], C.int(len(msg))) != 0 {
		return errors.New(C.GoString(&msg[0]))
	}
	return nil
}

func (b *emuBackend) matmul(ltCall, dataType, devPtr, devPtr, devPtr, float32, float32) (bool, error) {
	return false, nil
}

func (b *emuBackend) hasMatmul() bool { return false }
func (b *emuBackend) sync() error     { return nil }
func (b *emuBackend) gridCap() int    { return 4 }
func (b *emuBackend) close() error    { return nil }

func (b *emuBackend) info() DeviceInfo {
	return DeviceInfo{Name: "CPU emulation of CUDA", SMs: b.workers, GEMM: "own kernels"}
}
