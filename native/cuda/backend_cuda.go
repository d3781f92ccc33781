//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/minimind-go/minimind/kernels"
)

// cudaBackend runs on an NVIDIA GPU through the driver API
// (gorgonia.org/cu): the device's primary context, the kernels' PTX modules
// (JIT-compiled by the driver for the device), the legacy default stream
// for every copy, launch and cuBLASLt call, so the work runs in issue order.
type cudaBackend struct {
	ctx   cu.CUContext
	dev   cu.Device
	ptx   []kernels.Module
	where map[string]int // kernel name → index of its module in ptx
	mods  map[int]cu.Module
	fns   map[string]cu.Function
	lt    *cublasLt
	inf   DeviceInfo
	parms []unsafe.Pointer // launch parameter scratch
}

// do runs f with the engine's context current on this OS thread (a CUDA
// context is per thread; goroutines move between threads).
func (b *cudaBackend) do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(b.ctx); err != nil {
		return fmt.Errorf("cuCtxSetCurrent: %w", err)
	}
	return f()
}

func openBackend(opts Options) (backend, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting devices: %w", err)
	}
	if opts.Device < 0 || opts.Device >= n {
		return nil, fmt.Errorf("cuda: no device %d (%d found)", opts.Device, n)
	}
	dev, err := cu.GetDevice(opts.Device)
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: %w", opts.Device, err)
	}
	ctx, err := dev.RetainPrimaryCtx()
	if err != nil {
		return nil, fmt.Errorf("cuda: device %d: retaining its context: %w", opts.Device, err)
	}
	b := &cudaBackend{ctx: ctx, dev: dev, where: map[string]int{}, mods: map[int]cu.Module{}, fns: map[string]cu.Function{}}
	if err := b.do(func() error { return b.load(opts) }); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// load fills in the device info, loads the PTX modules and looks for cuBLASLt.
func (b *cudaBackend) load(opts Options) error {
	inf := DeviceInfo{Driver: cu.Version(), GEMM: "own kernels"}
	var err error
	if inf.Name, err = b.dev.Name(); err != nil {
		return fmt.Errorf("cuda: device name: %w", err)
	}
	attrs := []struct {
		a cu.DeviceAttribute
		p *int
	}{{cu.ComputeCapabilityMajor, &inf.Major}, {cu.ComputeCapabilityMinor, &inf.Minor},
		{cu.MultiprocessorCount, &inf.SMs}, {cu.ClockRate, &inf.ClockKHz}}
	for _, at := range attrs {
		if *at.p, err = b.dev.Attribute(at.a); err != nil {
			return fmt.Errorf("cuda: device attribute %v: %w", at.a, err)
		}
	}
	if inf.MemoryBytes, err = b.dev.TotalMem(); err != nil {
		return fmt.Errorf("cuda: device memory: %w", err)
	}
	if inf.Major < 8 {
		return fmt.Errorf("cuda: %s is sm_%d%d; the kernels need sm_80 or newer (bf16 tensor cores)", inf.Name, inf.Major, inf.Minor)
	}
	// The modules are JIT-compiled by the driver when first used (the
	// driver caches the result on disk), so an engine that never needs, say,
	// the float32 attention kernels never waits for them.
	if b.ptx, err = kernels.Modules(); err != nil {
		return err
	}
	for i, m := range b.ptx {
		for _, name := range kernels.Entries(m.PTX) {
			b.where[name] = i
		}
	}
	if opts.GEMM != GEMMOwn {
		lt, err := openCublasLt(cublasLtCandidates(opts.CuBLASLtPath, nil))
		if err == nil {
			p, err2 := cu.MemAlloc(ltWorkspace)
			if err2 != nil {
				lt.close()
				return fmt.Errorf("cuda: cuBLASLt workspace: %w", err2)
			}
			lt.ws, lt.wsBytes = devPtr(p), ltWorkspace
			b.lt = lt
			inf.GEMM = fmt.Sprintf("cuBLASLt %d (%s)", lt.version, lt.path)
		} else if opts.GEMM == GEMMCuBLASLt {
			return fmt.Errorf("cuda: cuBLASLt: %w", err)
		}
	}
	b.inf = inf
	return nil
}

func (b *cudaBackend) alloc(bytes int) (devPtr, error) {
	var p cu.DevicePtr
	err := b.do(func() (err error) {
		p, err = cu.MemAlloc(int64(bytes))
		return err
	})
	return devPtr(p), err
}

func (b *cudaBackend) free(p devPtr) error {
	return b.do(func() error { return cu.MemFree(cu.DevicePtr(p)) })
}

func (b *cudaBackend) htod(dst devPtr, src unsafe.Pointer, bytes int) error {
	return b.do(func() error { return cu.MemcpyHtoDAsync(cu.DevicePtr(dst), src, int64(bytes), cu.Stream{}) })
}

func (b *cudaBackend) dtoh(dst unsafe.Pointer, src devPtr, bytes int) error {
	return b.do(func() error { return cu.MemcpyDtoH(dst, cu.DevicePtr(src), int64(bytes)) })
}

func (b *cudaBackend) dtod(dst, src devPtr, bytes int) error {
	return b.do(func() error {
		return cu.MemcpyDtoDAsync(cu.DevicePtr(dst), cu.DevicePtr(src), int64(bytes), cu.Stream{})
	})
}

func (b *cudaBackend) memsetD32(dst devPtr, v uint32, n int) error {
	return b.do(func() error { return cu.MemsetD32Async(cu.DevicePtr(dst), uint(v), int64(n), cu.Stream{}) })
}

// function returns kernel name, loading its module on first use. It runs
// inside do.
func (b *cudaBackend) function(name string) (cu.Function, error) {
	if fn, ok := b.fns[name]; ok {
		return fn, nil
	}
	i, ok := b.where[name]
	if !ok {
		return cu.Function{}, fmt.Errorf("no kernel named %s in the PTX", name)
	}
	mod, ok := b.mods[i]
	if !ok {
		m := b.ptx[i]
		var err error
		if mod, err = cu.LoadData(m.PTX); err != nil {
			return cu.Function{}, fmt.Errorf("loading the %s kernels (PTX for %s, JIT-compiled by driver %d): %w", m.Name,
				kernels.Arch, b.inf.Driver, err)
		}
		b.mods[i] = mod
	}
	fn, err := mod.Function(name)
	if err != nil {
		return cu.Function{}, fmt.Errorf("kernel %s: %w", name, err)
	}
	b.fns[name] = fn
	return fn, nil
}

func (b *cudaBackend) launch(name string, grid, block dim3, args []uint64) error {
	b.parms = b.parms[:0]
	for i := range args {
		b.parms = append(b.parms, unsafe.Pointer(&args[i]))
	}
	return b.do(func() error {
		fn, err := b.function(name)
		if err != nil {
			return err
		}
		return fn.Launch(int(grid.X), int(grid.Y), int(grid.Z), int(block.X), int(block.Y), int(block.Z), 0, cu.Stream{}, b.parms)
	})
}

func (b *cudaBackend) matmul(c ltCall, t dataType, x, y, d devPtr, alpha, beta float32) (bool, error) {
	if b.lt == nil {
		return false, nil
	}
	return true, b.do(func() error { return b.lt.matmul(c, t, x, y, d, alpha, beta) })
}

func (b *cudaBackend) hasMatmul() bool { return b.lt != nil }

func (b *cudaBackend) sync() error { return b.do(cu.Synchronize) }

func (b *cudaBackend) info() DeviceInfo { return b.inf }

// gridCap: enough blocks of 256 threads to fill the largest GPUs several times.
func (b *cudaBackend) gridCap() int { return max(b.inf.SMs, 1) * 32 }

func (b *cudaBackend) close() error {
	var errs []error
	err := b.do(func() error {
		if err := cu.Synchronize(); err != nil {
			errs = append(errs, err)
		}
		if b.lt != nil {
			cu.MemFree(cu.DevicePtr(b.lt.ws))
			b.lt.close()
			b.lt = nil
		}
		for _, m := range b.mods {
			if err := m.Unload(); err != nil {
				errs = append(errs, err)
			}
		}
		b.mods, b.fns = nil, nil
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := b.dev.ReleasePrimaryCtx(); err != nil && !strings.Contains(err.Error(), "not initialized") {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
