//go:build cuda || cudaemu

package cuda

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/minimind-go/minimind/model"
)

// Precision selects the input precision of the matrix products.
type Precision int

const (
	// BF16 rounds the operands of every matrix product to bfloat16 and
	// accumulates in float32 (what PyTorch's bf16 autocast does); everything
	// else — activations, norms, softmax, attention, gradients and the AdamW
	// master weights — stays float32. The default.
	BF16 Precision = iota
	// FP32 keeps the matrix products in float32 (no TF32): slower, and within
	// float32 rounding of the CPU engine.
	FP32
)

// String names the precision.
func (p Precision) String() string {
	switch p {
	case BF16:
		return "bf16"
	case FP32:
		return "fp32"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// GEMM selects who runs the matrix products.
type GEMM int

const (
	// GEMMAuto uses cuBLASLt when a library is found, else the engine's own kernels.
	GEMMAuto GEMM = iota
	// GEMMCuBLASLt requires cuBLASLt (New fails without it).
	GEMMCuBLASLt
	// GEMMOwn uses the engine's own kernels (tensor-core wmma for bf16).
	GEMMOwn
)

// Options configures New.
type Options struct {
	// Device is the CUDA device ordinal.
	Device int
	// Precision of the matrix products (default BF16).
	Precision Precision
	// GEMM selects cuBLASLt or the engine's own kernels (default GEMMAuto).
	GEMM GEMM
	// CuBLASLtPath, when set, is tried before the environment variable
	// MINIMIND_CUBLASLT and the sonames libcublasLt.so.13, .12, .11.
	CuBLASLtPath string
	// Profile makes every kernel wait for the device and adds its wall
	// time, by kernel name, to Profile() — slow; for finding hot spots.
	Profile bool
}

// DeviceInfo describes the device an engine runs on.
type DeviceInfo struct {
	Name         string // e.g. "NVIDIA H100 80GB HBM3"
	Major, Minor int    // compute capability
	SMs          int    // multiprocessors
	MemoryBytes  int64  // total device memory
	ClockKHz     int    // peak SM clock
	Driver       int    // CUDA driver version, e.g. 13000
	GEMM         string // "cuBLASLt <version> (<path>)" or "own kernels"
}

// String is a one-line summary.
func (d DeviceInfo) String() string {
	return fmt.Sprintf("%s (sm_%d%d, %d SMs, %.1f GiB, driver %d.%d; GEMM: %s)", d.Name, d.Major, d.Minor, d.SMs,
		float64(d.MemoryBytes)/(1<<30), d.Driver/1000, d.Driver%1000/10, d.GEMM)
}

// Stats counts the engine's work since New (or ResetStats).
type Stats struct {
	Launches      int   // kernel launches
	GEMMs         int   // matrix products (cuBLASLt or own kernel)
	Fused         int   // residual adds fused into an RMSNorm kernel (forward or backward)
	Casts         int   // bf16 operand copies made (the rest were reused)
	Reads         int   // device → host copies (each waits for the device)
	Uploads       int   // host → device copies
	DeviceAllocs  int   // cuMemAlloc calls (the rest came from the pool)
	PeakLiveBytes int64 // peak bytes held by live tensors and scratch buffers
	PeakDevBytes  int64 // peak bytes allocated from the device (live + pooled)
}

// Engine is the CUDA engine: it implements model.Engine and
// model.TrainEngine. All work goes to one in-order stream; ops return as
// soon as their kernels are queued, and the host waits only where a result
// comes back (Read, CrossEntropy, SumSquares, RowDot). Errors are sticky: the
// first one is kept (Err), later ops do nothing and Read returns zeros. It is
// safe for use by one goroutine at a time.
type Engine struct {
	be     backend
	opts   Options
	info   DeviceInfo
	err    error
	closed bool
	cap    int // grid-stride block cap

	pool     map[int][]devPtr // freed buffers by size class
	poolSize int64
	live     int64 // bytes in tensors and scratch
	dev      int64 // bytes allocated from the device

	pend     *pending  // an op held back for fusion with the next one
	deferred []*Tensor // frees waiting for the pending op

	ints  []intEntry             // uploaded index arrays, reused while unchanged
	clock uint64                 // use counter for ints
	attn  map[*Tensor]*attnSaved // forward results kept for AttentionBackward, by q

	stats Stats
	prof  map[string]KernelTime
}

// KernelTime is the profiled time of one kernel (Options.Profile).
type KernelTime struct {
	Calls int
	Time  time.Duration
}

var (
	_ model.Engine      = (*Engine)(nil)
	_ model.TrainEngine = (*Engine)(nil)
)

// Tensor is a float32 tensor in device memory.
type Tensor struct {
	e     *Engine
	n     int
	ptr   devPtr
	size  int    // bytes of the buffer (a size class)
	dirty bool   // a reused buffer that is logically zero but not cleared yet
	ver   uint64 // bumped by every write (invalidates the bf16 copy)
	half  devPtr // bf16 copy of the values for the matrix products (0: none)
	hsize int
	hver  uint64 // ver the bf16 copy was made from
	freed bool
}

// Len implements model.Tensor.
func (t *Tensor) Len() int { return t.n }

// New opens CUDA device opts.Device, loads the kernels and, unless
// opts.GEMM is GEMMOwn, looks for cuBLASLt.
func New(opts Options) (*Engine, error) {
	if opts.Precision != BF16 && opts.Precision != FP32 {
		return nil, fmt.Errorf("cuda: unknown precision %d", int(opts.Precision))
	}
	be, err := openBackend(opts)
	if err != nil {
		return nil, err
	}
	if opts.GEMM == GEMMCuBLASLt && !be.hasMatmul() {
		be.close()
		return nil, fmt.Errorf("cuda: no cuBLASLt library found (tried %v)", cublasLtCandidates(opts.CuBLASLtPath, nil))
	}
	e := &Engine{be: be, opts: opts, info: be.info(), cap: be.gridCap(), pool: map[int][]devPtr{}, attn: map[*Tensor]*attnSaved{}}
	if opts.Profile {
		e.prof = map[string]KernelTime{}
	}
	if opts.GEMM == GEMMOwn || !be.hasMatmul() {
		e.info.GEMM = "own kernels"
	}
	return e, nil
}

// Name implements model.Engine.
func (e *Engine) Name() string { return "cuda" }

// Info describes the device.
func (e *Engine) Info() DeviceInfo { return e.info }

// Precision returns the precision of the matrix products.
func (e *Engine) Precision() Precision { return e.opts.Precision }

// Err returns the first error the engine met, or nil.
func (e *Engine) Err() error { return e.err }

// Stats returns the work counters.
func (e *Engine) Stats() Stats { return e.stats }

// ResetStats zeroes the counters and restarts the peak-memory tracking from
// the current use.
func (e *Engine) ResetStats() {
	e.stats = Stats{PeakLiveBytes: e.live, PeakDevBytes: e.dev}
	if e.prof != nil {
		e.prof = map[string]KernelTime{}
	}
}

// fail records the first error.
func (e *Engine) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Flush waits until the device has finished every queued op and returns Err.
func (e *Engine) Flush() error {
	if e.err != nil {
		return e.err
	}
	e.flush()
	if e.err == nil {
		if err := e.be.sync(); err != nil {
			e.fail(fmt.Errorf("cuda: synchronize: %w", err))
		}
	}
	return e.err
}

// Close releases every device resource. The engine and its tensors must not
// be used afterwards.
func (e *Engine) Close() error {
	if e.closed {
		return nil
	}
	if e.err == nil {
		e.Flush()
	}
	e.closed = true
	for _, ps := range e.pool {
		for _, p := range ps {
			e.be.free(p)
		}
	}
	e.pool = nil
	if err := e.be.close(); err != nil {
		e.fail(fmt.Errorf("cuda: close: %w", err))
	}
	err := e.err
	if err == nil {
		e.err = errors.New("cuda: engine is closed")
	}
	return err
}

// ---- memory ----

// allocRaw returns a buffer of at least bytes bytes from the pool or the device.
func (e *Engine) allocRaw(bytes int) (devPtr, int, error) {
	size := sizeClass(bytes)
	if ps := e.pool[size]; len(ps) > 0 {
		p := ps[len(ps)-1]
		e.pool[size] = ps[:len(ps)-1]
		e.poolSize -= int64(size)
		e.addLive(int64(size))
		return p, size, nil
	}
	p, err := e.be.alloc(size)
	if err != nil && e.poolSize > 0 {
		e.trimPool() // out of memory: give the cached buffers back and retry
		p, err = e.be.alloc(size)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("cuda: allocating %d bytes (%.1f MiB live): %w", size, float64(e.live)/(1<<20), err)
	}
	e.stats.DeviceAllocs++
	e.dev += int64(size)
	e.stats.PeakDevBytes = max(e.stats.PeakDevBytes, e.dev)
	e.addLive(int64(size))
	return p, size, nil
}

func (e *Engine) addLive(n int64) {
	e.live += n
	e.stats.PeakLiveBytes = max(e.stats.PeakLiveBytes, e.live)
}

// rawBuf is a scratch buffer from allocRaw.
type rawBuf struct {
	p    devPtr
	size int
}

// freeRaw returns a buffer to the pool. Work already queued that uses it
// runs before any later reuse: the stream is in order.
func (e *Engine) freeRaw(p devPtr, size int) {
	if p == 0 {
		return
	}
	e.pool[size] = append(e.pool[size], p)
	e.poolSize += int64(size)
	e.live -= int64(size)
}

// trimPool frees every pooled buffer.
func (e *Engine) trimPool() {
	e.be.sync()
	for size, ps := range e.pool {
		for _, p := range ps {
			e.be.free(p)
			e.dev -= int64(size)
		}
	}
	e.pool = map[int][]devPtr{}
	e.poolSize = 0
}

// newTensor allocates a tensor of n elements whose buffer is logically zero.
func (e *Engine) newTensor(n int) *Tensor {
	t := &Tensor{e: e, n: n, ver: 1}
	if e.err != nil {
		return t
	}
	if n < 0 {
		e.fail(fmt.Errorf("cuda: Alloc of %d elements", n))
		return t
	}
	p, size, err := e.allocRaw(4 * n)
	if err != nil {
		e.fail(err)
		return t
	}
	t.ptr, t.size, t.dirty = p, size, true
	return t
}

// Alloc implements model.Engine.
func (e *Engine) Alloc(n int) model.Tensor { return e.newTensor(n) }

// Upload implements model.Engine.
func (e *Engine) Upload(data []float32) model.Tensor {
	t := e.newTensor(len(data))
	if e.err != nil || len(data) == 0 {
		return t
	}
	if err := e.be.htod(t.ptr, unsafe.Pointer(&data[0]), 4*len(data)); err != nil {
		e.fail(fmt.Errorf("cuda: Upload of %d values: %w", len(data), err))
		return t
	}
	e.stats.Uploads++
	t.dirty = false
	return t
}

// Read implements model.Engine. It waits for the queued work.
func (e *Engine) Read(t model.Tensor) []float32 {
	ct := e.tensor("Read", "t", t, 0)
	if ct == nil {
		return make([]float32, lenOf(t))
	}
	e.flush()
	out := make([]float32, ct.n)
	if e.err != nil || ct.dirty || ct.n == 0 {
		return out
	}
	if err := e.be.dtoh(unsafe.Pointer(&out[0]), ct.ptr, 4*ct.n); err != nil {
		e.fail(fmt.Errorf("cuda: Read of %d values: %w", ct.n, err))
	}
	e.stats.Reads++
	return out
}

func lenOf(t model.Tensor) int {
	if t == nil {
		return 0
	}
	return t.Len()
}

// Free implements model.Engine.
func (e *Engine) Free(t model.Tensor) {
	ct, ok := t.(*Tensor)
	if !ok || ct == nil || ct.e != e || ct.freed {
		if ok && ct != nil && ct.freed {
			e.fail(errors.New("cuda: Free of a tensor freed before"))
		}
		return
	}
	if e.pend != nil && e.pend.uses(ct) {
		e.deferred = append(e.deferred, ct)
		return
	}
	e.release(ct)
}

func (e *Engine) release(t *Tensor) {
	if s := e.attn[t]; s != nil {
		e.freeRaw(s.lse, s.lseSize)
		delete(e.attn, t)
	}
	e.freeRaw(t.ptr, t.size)
	e.freeRaw(t.half, t.hsize)
	t.ptr, t.half, t.freed = 0, 0, true
}

// tensor checks that t is a live tensor of this engine with at least need
// elements; it returns nil (and records an error) otherwise, or when the
// engine has already failed.
func (e *Engine) tensor(op, arg string, t model.Tensor, need int) *Tensor {
	if e.err != nil {
		return nil
	}
	ct, ok := t.(*Tensor)
	switch {
	case !ok || ct == nil:
		e.fail(fmt.Errorf("cuda: %s: %s is a %T, not a tensor of the CUDA engine", op, arg, t))
	case ct.e != e:
		e.fail(fmt.Errorf("cuda: %s: %s belongs to another CUDA engine", op, arg))
	case ct.freed:
		e.fail(fmt.Errorf("cuda: %s: %s was freed", op, arg))
	case need < 0 || ct.n < need:
		e.fail(fmt.Errorf("cuda: %s: %s has %d elements, the op needs %d", op, arg, ct.n, need))
	default:
		return ct
	}
	return nil
}

// clean makes a dirty tensor's memory really zero before a kernel reads it.
func (e *Engine) clean(t *Tensor) {
	if !t.dirty || e.err != nil {
		return
	}
	if err := e.be.memsetD32(t.ptr, 0, t.n); err != nil {
		e.fail(fmt.Errorf("cuda: clearing %d values: %w", t.n, err))
	}
	t.dirty = false
}

// wrote records that an op writes elements [0, n) of t: a write of fewer
// than all elements first clears a dirty buffer.
func (e *Engine) wrote(t *Tensor, n int) {
	if n < t.n {
		e.clean(t)
	}
	t.dirty = false
	t.ver++
}

// Copy implements model.Engine.
func (e *Engine) Copy(dst model.Tensor, dstOff int, src model.Tensor, srcOff, n int) {
	d := e.tensor("Copy", "dst", dst, dstOff+n)
	s := e.tensor("Copy", "src", src, srcOff+n)
	if d == nil || s == nil {
		return
	}
	if dstOff < 0 || srcOff < 0 || n < 0 {
		e.fail(fmt.Errorf("cuda: Copy of %d values at offsets %d, %d", n, dstOff, srcOff))
		return
	}
	e.flush()
	if n == 0 {
		return
	}
	if dstOff != 0 || n != d.n {
		e.clean(d)
	}
	e.clean(s)
	if err := e.be.dtod(d.ptr+devPtr(4*dstOff), s.ptr+devPtr(4*srcOff), 4*n); err != nil {
		e.fail(fmt.Errorf("cuda: Copy of %d values: %w", n, err))
	}
	d.dirty = false
	d.ver++
}

// ---- uploads of host index arrays ----

// intEntry is an uploaded index array, kept while the host copy is unchanged.
type intEntry struct {
	data []int32
	ptr  devPtr
	size int
	used uint64
}

const maxIntEntries = 16

// upInts returns a device copy of s (0 for an empty slice), reusing an
// earlier upload of the same contents: the model passes the same token ids
// and positions to many ops of a step.
func (e *Engine) upInts(s []int32) devPtr {
	if len(s) == 0 || e.err != nil {
		return 0
	}
	e.clock++
	for i := range e.ints {
		if en := &e.ints[i]; slices.Equal(en.data, s) {
			en.used = e.clock
			return en.ptr
		}
	}
	p, size, err := e.allocRaw(4 * len(s))
	if err == nil {
		err = e.be.htod(p, unsafe.Pointer(&s[0]), 4*len(s))
	}
	if err != nil {
		e.fail(fmt.Errorf("cuda: uploading %d indices: %w", len(s), err))
		return 0
	}
	e.stats.Uploads++
	en := intEntry{data: slices.Clone(s), ptr: p, size: size, used: e.clock}
	if len(e.ints) < maxIntEntries {
		e.ints = append(e.ints, en)
		return p
	}
	old := 0
	for i := range e.ints {
		if e.ints[i].used < e.ints[old].used {
			old = i
		}
	}
	e.freeRaw(e.ints[old].ptr, e.ints[old].size)
	e.ints[old] = en
	return p
}

// upWords uploads a one-off buffer of 32-bit words; the caller frees it with
// freeRaw after queuing the kernels that read it.
func (e *Engine) upWords(w []uint32) (devPtr, int) {
	if len(w) == 0 || e.err != nil {
		return 0, 0
	}
	p, size, err := e.allocRaw(4 * len(w))
	if err == nil {
		err = e.be.htod(p, unsafe.Pointer(&w[0]), 4*len(w))
	}
	if err != nil {
		e.fail(fmt.Errorf("cuda: uploading %d words: %w", len(w), err))
		return 0, 0
	}
	e.stats.Uploads++
	return p, size
}

// ---- launches ----

// Kernel argument slots.
func ptrArg(t *Tensor) uint64 {
	if t == nil {
		return 0
	}
	return uint64(t.ptr)
}
func i32(v int) uint64      { return uint64(uint32(int32(v))) }
func i64(v int64) uint64    { return uint64(v) }
func f32a(v float32) uint64 { return uint64(math.Float32bits(v)) }

func (e *Engine) launch(name string, grid, block dim3, args ...uint64) {
	if e.err != nil {
		return
	}
	if grid.X == 0 || grid.Y == 0 || grid.Z == 0 {
		return // nothing to do
	}
	var t0 time.Time
	if e.prof != nil {
		e.be.sync()
		t0 = time.Now()
	}
	if err := e.be.launch(name, grid, block, args); err != nil {
		e.fail(fmt.Errorf("cuda: kernel %s: %w", name, err))
		return
	}
	e.stats.Launches++
	if e.prof != nil {
		e.profiled(name, t0)
	}
}

// profiled adds the time since t0 (after waiting for the device) to name.
func (e *Engine) profiled(name string, t0 time.Time) {
	if err := e.be.sync(); err != nil {
		e.fail(fmt.Errorf("cuda: %s: %w", name, err))
	}
	k := e.prof[name]
	k.Calls++
	k.Time += time.Since(t0)
	e.prof[name] = k
}

// Profile returns the time spent in each kernel (and "cublasLt") since New
// or the last ResetStats, when Options.Profile is set.
func (e *Engine) Profile() map[string]KernelTime { return maps.Clone(e.prof) }

// elemGrid is the grid of a grid-stride kernel over n items.
func (e *Engine) elemGrid(n int64) dim3 { return gridStride(n, blockElem, e.cap) }

var block256 = dim3{256, 1, 1}

// ---- the pending op (fusion) ----

const (
	pendAdd     = iota // Add, fused into a following RMSNorm of its sum
	pendNormBwd        // RMSNormBackward, fused with a following Add of its dx into the residual gradient
)

// pending is an op held back until the next op shows whether the two can
// run as one kernel.
type pending struct {
	kind               int
	out, a, b          *Tensor // add
	dx, dw, dout, x, w *Tensor // norm backward
	n, rows, dim       int
	eps                float32
}

func (p *pending) uses(t *Tensor) bool {
	for _, u := range []*Tensor{p.out, p.a, p.b, p.dx, p.dw, p.dout, p.x, p.w} {
		if u == t {
			return true
		}
	}
	return false
}

// flush issues the pending op unfused and runs the frees that waited for it.
func (e *Engine) flush() {
	p := e.pend
	if p == nil {
		return
	}
	e.pend = nil
	switch p.kind {
	case pendAdd:
		e.addNow(p.out, p.a, p.b, p.n)
	case pendNormBwd:
		e.normBwdNow(p, nil)
	}
	e.releaseDeferred()
}

func (e *Engine) releaseDeferred() {
	for _, t := range e.deferred {
		e.release(t)
	}
	e.deferred = e.deferred[:0]
}
