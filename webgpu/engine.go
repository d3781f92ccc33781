package webgpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/shaders"
)

// ErrNoAdapter is returned by New when no WebGPU adapter is available.
var ErrNoAdapter = errors.New("webgpu: no WebGPU adapter")

// WeightFormat selects how the w operand of MatMul is stored on the device.
type WeightFormat int

const (
	// WeightsF32 keeps weights in f32 (the default; matches the CPU engine).
	WeightsF32 WeightFormat = iota
	// WeightsF16 stores weights as packed IEEE halves (half the memory traffic).
	WeightsF16
	// WeightsAuto uses WeightsF16 when the adapter has the shader-f16
	// feature (a device built for half precision) and WeightsF32 otherwise.
	WeightsAuto
)

// String names the format.
func (f WeightFormat) String() string {
	switch f {
	case WeightsF32:
		return "f32"
	case WeightsF16:
		return "f16"
	case WeightsAuto:
		return "auto"
	}
	return fmt.Sprintf("WeightFormat(%d)", int(f))
}

// Options configures New.
type Options struct {
	// Weights selects the storage of MatMul weights (default WeightsF32).
	Weights WeightFormat
	// PoolBytes caps the bytes of freed buffers kept for reuse (default 512 MiB).
	PoolBytes uint64
	// LazyPipelines compiles each shader on first use instead of in New.
	LazyPipelines bool
}

// AdapterInfo describes the WebGPU adapter the engine runs on and the limits
// of its device.
type AdapterInfo struct {
	Name         string // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
	Vendor       string
	Architecture string
	Driver       string // driver description
	Backend      string // Vulkan, Metal, D3D12, WebGPU (browser), ...
	Type         string // DiscreteGPU, IntegratedGPU, CPU, Unknown
	// ShaderF16 reports the adapter's shader-f16 feature.
	ShaderF16 bool
	// WeightsF16 reports whether this engine stores MatMul weights as f16.
	WeightsF16 bool

	MaxBufferSize                     uint64
	MaxStorageBufferBindingSize       uint64
	MaxStorageBuffersPerShaderStage   uint32
	MaxComputeWorkgroupStorageSize    uint32
	MaxComputeInvocationsPerWorkgroup uint32
	MaxComputeWorkgroupsPerDimension  uint32
	MinUniformBufferOffsetAlignment   uint32
	MinStorageBufferOffsetAlignment   uint32
}

// String is a one-line summary of the adapter.
func (a AdapterInfo) String() string {
	f16 := "no shader-f16"
	if a.ShaderF16 {
		f16 = "shader-f16"
	}
	w := "f32"
	if a.WeightsF16 {
		w = "f16"
	}
	var parts []string
	for _, p := range []string{a.Backend, a.Type, a.Driver} {
		if p != "" && p != "Unknown" {
			parts = append(parts, p)
		}
	}
	return fmt.Sprintf("%s (%s; maxBufferSize %d, maxStorageBufferBindingSize %d; %s; weights %s)",
		a.Name, strings.Join(parts, ", "), a.MaxBufferSize, a.MaxStorageBufferBindingSize, f16, w)
}

// CPUEmulated reports whether the adapter is a CPU implementation (lavapipe,
// SwiftShader), whose speed says nothing about a GPU's.
func (a AdapterInfo) CPUEmulated() bool {
	n := strings.ToLower(a.Name + " " + a.Driver)
	return a.Type == "CPU" || strings.Contains(n, "llvmpipe") || strings.Contains(n, "swiftshader")
}

// Stats counts the engine's device work since New.
type Stats struct {
	Submits    int // command buffers submitted
	Dispatches int // compute dispatches recorded
	Reads      int // read-backs to the host
	Pipelines  int // pipelines compiled
	BindGroups int // bind groups created (the rest were cache hits)
	Buffers    int // device buffers created (the rest came from the pool)
}

// paramBytes is the size of the uniform Params binding of every shader.
const paramBytes = 64

// Engine is the WebGPU engine. Its tensors are *Tensor values. It is safe for
// use by one goroutine at a time.
type Engine struct {
	drv  driver
	info AdapterInfo
	opts Options
	f16  bool
	// regMatmul picks matmul_reg.wgsl over the workgroup-memory tiling
	// (CPU-emulated adapters, where barriers are expensive).
	regMatmul bool
	// attnScratch caps the scratch of the grouped attention kernel, in
	// bytes (groupedScratchBytes; tests lower it to reach attention.wgsl).
	attnScratch uint64

	pipes map[string]*pipeline
	bgs   map[bgKey]devBindGroup

	nextID    uint64
	live      map[uint64]*buffer // every device buffer, for Close
	pool      map[uint64][]*buffer
	poolBytes uint64
	doomed    []*buffer // destroyed after the next submit
	// Alloc replays its choices: the i-th Alloc since the last read-back
	// gets the buffer the i-th Alloc got last time when it is free again,
	// so a decode step reuses the previous step's buffers in the same roles
	// and its bind groups come from the cache.
	allocSeq  int
	allocLast []*buffer

	params      []byte // host copy of this batch's Params, one slot per dispatch
	paramStride uint64
	paramCap    int
	nDisp       int
	paramBuf    *buffer
	aux         []uint32 // this batch's host integer data
	auxBuf      *buffer
	dummy       [2]*buffer

	err      error
	closed   bool
	inflight bool // work was submitted without waiting for it
	stats    Stats

	// prof, when set (tests), makes every dispatch wait for the device and
	// adds its time under the shader's name.
	prof map[string]time.Duration
}

type pipeline struct {
	name  string
	p     devPipeline
	binds []shaders.Binding
}

// buffer is one device buffer.
type buffer struct {
	id   uint64
	size uint64
	b    devBuffer
}

type bgKey struct {
	pipe *pipeline
	ids  [8]uint64
}

// Tensor is a float32 tensor in a device buffer of the engine.
type Tensor struct {
	e       *Engine
	n       int
	buf     *buffer // nil after Free or a failed allocation
	dirty   bool    // reused pool buffer with stale contents (logically zero)
	version uint64  // bumped on every write, to invalidate the f16 copy
	half    *buffer // packed f16 copy for MatMul (WeightsF16)
	halfVer uint64
}

// Len implements model.Tensor.
func (t *Tensor) Len() int { return t.n }

var _ model.Engine = (*Engine)(nil)

// New opens the default WebGPU adapter and returns an engine on it. It
// returns an error wrapping ErrNoAdapter when there is none.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	drv, err := openDriver(ctx)
	if err != nil {
		return nil, err
	}
	e, err := newEngine(drv, opts)
	if err != nil {
		drv.close()
		return nil, err
	}
	if !opts.LazyPipelines {
		for _, name := range shaders.Names() {
			if err := ctx.Err(); err != nil {
				e.Close()
				return nil, err
			}
			if _, err := e.pipeline(name); err != nil {
				e.Close()
				return nil, err
			}
		}
	}
	return e, nil
}

func newEngine(drv driver, opts Options) (*Engine, error) {
	info := drv.info()
	e := &Engine{drv: drv, info: info, opts: opts,
		pipes: map[string]*pipeline{}, bgs: map[bgKey]devBindGroup{},
		live: map[uint64]*buffer{}, pool: map[uint64][]*buffer{}}
	if e.opts.PoolBytes == 0 {
		e.opts.PoolBytes = 512 << 20
	}
	switch opts.Weights {
	case WeightsF16:
		e.f16 = true
	case WeightsAuto:
		e.f16 = info.ShaderF16
	}
	e.info.WeightsF16 = e.f16
	e.regMatmul = info.CPUEmulated()
	e.attnScratch = groupedScratchBytes
	align := uint64(max(info.MinUniformBufferOffsetAlignment, 16))
	e.paramStride = (paramBytes + align - 1) / align * align
	e.paramCap = 1024
	e.params = make([]byte, uint64(e.paramCap)*e.paramStride)
	var err error
	if e.paramBuf, err = e.newBuffer(uint64(len(e.params)), kindUniform); err != nil {
		return nil, err
	}
	if e.auxBuf, err = e.newBuffer(64<<10, kindStorage); err != nil {
		return nil, err
	}
	for i := range e.dummy {
		if e.dummy[i], err = e.newBuffer(16, kindStorage); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Name implements model.Engine.
func (e *Engine) Name() string { return "webgpu" }

// Adapter describes the adapter and device the engine runs on.
func (e *Engine) Adapter() AdapterInfo { return e.info }

// Err returns the first error the engine met, or nil.
func (e *Engine) Err() error { return e.err }

// Stats returns the engine's work counters.
func (e *Engine) Stats() Stats { return e.stats }

// fail records the first error.
func (e *Engine) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Close waits for the device, then releases every device resource. The
// engine and its tensors must not be used afterwards. It returns the
// engine's first error, if there was one.
func (e *Engine) Close() error {
	if e.closed {
		return nil
	}
	if e.err == nil {
		e.Flush() // wait for the device before releasing what it uses
	}
	e.closed = true
	for k, g := range e.bgs {
		e.drv.releaseBindGroup(g)
		delete(e.bgs, k)
	}
	for _, b := range e.live {
		e.drv.destroyBuffer(b.b)
	}
	for _, p := range e.pipes {
		e.drv.releasePipeline(p.p)
	}
	e.live, e.pool, e.doomed, e.pipes = nil, nil, nil, nil
	e.drv.close()
	if e.err == nil {
		e.err = errors.New("webgpu: engine is closed")
		return nil
	}
	return e.err
}

// Flush submits the recorded work and waits until the device has done it.
func (e *Engine) Flush() error {
	if e.err != nil {
		return e.err
	}
	if e.nDisp > 0 || e.inflight {
		// A one-word read-back of a dummy makes submit wait for the work.
		e.flush([]readback{{buf: e.dummy[0].b, size: 4, dst: make([]byte, 4)}})
	}
	return e.err
}

// ---- buffers ----

func (e *Engine) newBuffer(size uint64, kind bufferKind) (*buffer, error) {
	if size > e.info.MaxBufferSize {
		return nil, fmt.Errorf("webgpu: a buffer of %d bytes exceeds the adapter's maxBufferSize (%d bytes)", size, e.info.MaxBufferSize)
	}
	b, err := e.drv.newBuffer(size, kind)
	if err != nil {
		return nil, fmt.Errorf("webgpu: creating a buffer of %d bytes: %w", size, err)
	}
	e.nextID++
	buf := &buffer{id: e.nextID, size: size, b: b}
	e.live[buf.id] = buf
	e.stats.Buffers++
	return buf, nil
}

// bufBytes is the buffer size used for n float32 values: a multiple of 16
// bytes (vec4 views), at least 16.
func bufBytes(n int) uint64 {
	b := (uint64(n)*4 + 15) &^ 15
	return max(b, 16)
}

// sizeClass rounds a pooled buffer size up to one of a few sizes per power
// of two (at most 12.5% larger), so that tensors whose size drifts — the
// attention scratch grows by a row per decoded token — reuse pooled buffers
// instead of creating one per step.
func sizeClass(b uint64) uint64 {
	if b <= 4096 {
		return (b + 255) &^ 255
	}
	step := uint64(1) << (63 - bits.LeadingZeros64(b) - 3) // 1/8 of the power of two below b
	return (b + step - 1) / step * step
}

// pooledSize is the size class of b, unless rounding up would cross the
// adapter's binding limit.
func (e *Engine) pooledSize(b uint64) uint64 {
	if c := sizeClass(b); c <= e.info.MaxStorageBufferBindingSize {
		return c
	}
	return b
}

// getBuffer returns a buffer of exactly size bytes, from the pool when one
// is there (prefer, when pooled, is the one to take); pooled reports that its
// contents are stale.
func (e *Engine) getBuffer(size uint64, prefer ...*buffer) (b *buffer, pooled bool, err error) {
	if l := e.pool[size]; len(l) > 0 {
		i := len(l) - 1
		for j, c := range l {
			if len(prefer) > 0 && c == prefer[0] {
				i = j
				break
			}
		}
		b = l[i]
		l[i] = l[len(l)-1]
		e.pool[size] = l[:len(l)-1]
		e.poolBytes -= size
		return b, true, nil
	}
	b, err = e.newBuffer(size, kindStorage)
	if err != nil && len(e.pool) > 0 {
		// Out of device memory, perhaps: give the pool back and try again.
		e.flush(nil)
		e.trimPool(0)
		e.flush(nil)
		b, err = e.newBuffer(size, kindStorage)
	}
	return b, false, err
}

// putBuffer returns a buffer to the pool, or destroys it (after the work
// recorded so far) when the pool is full.
func (e *Engine) putBuffer(b *buffer) {
	if b == nil {
		return
	}
	if e.poolBytes+b.size > e.opts.PoolBytes {
		e.doomed = append(e.doomed, b)
		return
	}
	e.pool[b.size] = append(e.pool[b.size], b)
	e.poolBytes += b.size
}

// trimPool destroys pooled buffers until at most keep bytes remain.
func (e *Engine) trimPool(keep uint64) {
	for size, l := range e.pool {
		for len(l) > 0 && e.poolBytes > keep {
			e.doomed = append(e.doomed, l[len(l)-1])
			l = l[:len(l)-1]
			e.poolBytes -= size
		}
		e.pool[size] = l
	}
}

// Alloc implements model.Engine.
func (e *Engine) Alloc(n int) model.Tensor {
	t := &Tensor{e: e, n: n}
	if e.err != nil || n < 0 {
		if n < 0 {
			e.fail(fmt.Errorf("webgpu: Alloc of %d elements", n))
		}
		return t
	}
	var prev *buffer
	if e.allocSeq < len(e.allocLast) {
		prev = e.allocLast[e.allocSeq]
	}
	b, pooled, err := e.getBuffer(e.pooledSize(bufBytes(n)), prev)
	if err != nil {
		e.fail(fmt.Errorf("webgpu: Alloc of a tensor of %d floats: %w", n, err))
		return t
	}
	if e.allocSeq < len(e.allocLast) {
		e.allocLast[e.allocSeq] = b
	} else if e.allocSeq < 1<<16 {
		e.allocLast = append(e.allocLast, b)
	}
	e.allocSeq++
	t.buf, t.dirty = b, pooled
	return t
}

// Upload implements model.Engine. The data goes into a new buffer (never a
// pooled one, which recorded but unsubmitted work may still read).
func (e *Engine) Upload(data []float32) model.Tensor {
	t := &Tensor{e: e, n: len(data)}
	if e.err != nil {
		return t
	}
	b, err := e.newBuffer(bufBytes(len(data)), kindStorage)
	if err == nil && len(data) > 0 {
		err = e.drv.writeBuffer(b.b, 0, f32Bytes(data))
	}
	if err != nil {
		e.fail(fmt.Errorf("webgpu: Upload of a tensor of %d floats: %w", len(data), err))
		return t
	}
	t.buf = b
	return t
}

// tensor returns t as a tensor of this engine, or records an error naming
// the op and argument.
func (e *Engine) tensor(op, arg string, t model.Tensor) *Tensor {
	wt, ok := t.(*Tensor)
	switch {
	case e.err != nil:
		return nil
	case !ok || wt == nil:
		e.fail(fmt.Errorf("webgpu: %s: %s is a %T, not a tensor of the WebGPU engine", op, arg, t))
		return nil
	case wt.e != e:
		e.fail(fmt.Errorf("webgpu: %s: %s belongs to another WebGPU engine", op, arg))
		return nil
	case wt.buf == nil:
		e.fail(fmt.Errorf("webgpu: %s: %s was freed", op, arg))
		return nil
	}
	return wt
}

// Free implements model.Engine.
func (e *Engine) Free(t model.Tensor) {
	wt, ok := t.(*Tensor)
	if !ok || wt == nil || wt.e != e || wt.buf == nil || e.closed {
		return
	}
	e.putBuffer(wt.buf)
	if wt.half != nil {
		e.putBuffer(wt.half)
	}
	wt.buf, wt.half = nil, nil
}

// Read implements model.Engine: it submits the recorded work and copies t
// back. After an error it returns zeros (see Err).
func (e *Engine) Read(t model.Tensor) []float32 {
	wt, ok := t.(*Tensor)
	n := 0
	if ok && wt != nil {
		n = wt.n
	}
	out := make([]float32, n)
	wt = e.tensor("Read", "the tensor", t)
	if wt == nil || n == 0 || wt.dirty {
		return out
	}
	e.stats.Reads++
	e.flush([]readback{{buf: wt.buf.b, size: uint64(n) * 4, dst: f32Bytes(out)}})
	if e.err != nil {
		clear(out)
	}
	return out
}

// readU32 reads n u32 values of a raw buffer.
func (e *Engine) readU32(b *buffer, n int) []uint32 {
	out := make([]uint32, n)
	if e.err != nil || n == 0 {
		return out
	}
	e.stats.Reads++
	e.flush([]readback{{buf: b.b, size: uint64(n) * 4, dst: u32Bytes(out)}})
	return out
}

// f32Bytes views a float32 slice as its bytes (WebGPU is little-endian, as
// every Go target with WebGPU).
func f32Bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*4)
}

func u32Bytes(u []uint32) []byte {
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&u[0])), len(u)*4)
}

// ---- pipelines and dispatch ----

// pipeline returns the compiled pipeline of the named shader.
func (e *Engine) pipeline(name string) (*pipeline, error) {
	if p, ok := e.pipes[name]; ok {
		return p, nil
	}
	src, err := shaders.Source(name)
	if err != nil {
		return nil, fmt.Errorf("webgpu: %w", err)
	}
	return e.compile(name, src)
}

// compile builds and caches a pipeline from WGSL source.
func (e *Engine) compile(name, src string) (*pipeline, error) {
	binds, err := shaders.Bindings(src)
	if err != nil {
		return nil, fmt.Errorf("webgpu: shader %s.wgsl: %w", name, err)
	}
	if len(binds) == 0 || binds[0].Access != shaders.Uniform {
		return nil, fmt.Errorf("webgpu: shader %s.wgsl: binding 0 must be the uniform Params", name)
	}
	if n := uint32(len(binds) - 1); n > e.info.MaxStorageBuffersPerShaderStage {
		return nil, fmt.Errorf("webgpu: shader %s.wgsl uses %d storage buffers, the adapter allows %d (maxStorageBuffersPerShaderStage)",
			name, n, e.info.MaxStorageBuffersPerShaderStage)
	}
	if len(binds) > len(bgKey{}.ids) {
		return nil, fmt.Errorf("webgpu: shader %s.wgsl has %d bindings, the engine supports %d", name, len(binds), len(bgKey{}.ids))
	}
	p, err := e.drv.newPipeline(name, src, binds, paramBytes)
	if err != nil {
		return nil, fmt.Errorf("webgpu: shader %s.wgsl does not compile: %w", name, err)
	}
	pl := &pipeline{name: name, p: p, binds: binds}
	e.pipes[name] = pl
	e.stats.Pipelines++
	return pl, nil
}

// arg is one storage binding of a dispatch: a tensor or a raw buffer.
type arg struct {
	t     *Tensor
	b     *buffer
	write bool
	full  bool // the dispatch overwrites all of t (no zero-fill needed)
}

func in(t *Tensor) arg             { return arg{t: t} }
func out(t *Tensor, full bool) arg { return arg{t: t, write: true, full: full} }
func raw(b *buffer, write bool) arg {
	return arg{b: b, write: write, full: true}
}

// fold folds a 1-D workgroup count into x·y under the per-dimension limit.
func (e *Engine) fold(groups int) (x, y uint32) {
	lim := int(e.info.MaxComputeWorkgroupsPerDimension)
	if lim <= 0 {
		lim = 65535
	}
	if groups <= lim {
		return uint32(max(groups, 1)), 1
	}
	return uint32(lim), uint32((groups + lim - 1) / lim)
}

// launch records one dispatch of the named shader.
//
// params are the words of its Params struct; aux is host data appended to
// the batch's aux arena, and for each index in auxAt, params[index] (an
// offset relative to aux) is shifted to the arena position. args are the
// storage bindings after the ones the shader gets implicitly: the aux arena
// is bound automatically where the shader's binding 1 is named aux.
func (e *Engine) launch(op, shader string, params []uint32, aux []uint32, auxAt []int, args []arg, x, y, z uint32) {
	if e.err != nil {
		return
	}
	p, err := e.pipeline(shader)
	if err != nil {
		e.fail(err)
		return
	}
	usesAux := len(p.binds) > 1 && p.binds[1].Name == "aux"
	nArgs := len(p.binds) - 1
	if usesAux {
		nArgs--
	}
	if len(args) != nArgs {
		e.fail(fmt.Errorf("webgpu: %s: shader %s.wgsl takes %d storage buffers, got %d", op, shader, nArgs, len(args)))
		return
	}
	for i := range args {
		b := args[i].b
		if args[i].t != nil {
			b = args[i].t.buf
		}
		for j := i + 1; j < len(args); j++ {
			bj := args[j].b
			if args[j].t != nil {
				bj = args[j].t.buf
			}
			if args[i].write && args[j].write && b == bj {
				e.fail(fmt.Errorf("webgpu: %s: the same tensor is bound to two outputs", op))
				return
			}
		}
		if b.size > e.info.MaxStorageBufferBindingSize {
			e.fail(fmt.Errorf("webgpu: %s: %s (%d bytes) exceeds the adapter's maxStorageBufferBindingSize (%d bytes); use shorter sequences or smaller batches",
				op, p.binds[len(p.binds)-len(args)+i].Name, b.size, e.info.MaxStorageBufferBindingSize))
			return
		}
	}
	// Zero-fill stale pool buffers that are read or only partly written,
	// and stage inputs that alias an output (a buffer cannot be bound as
	// read-only and read-write in one dispatch).
	var temps []*buffer
	for i := range args {
		a := &args[i]
		if a.t == nil {
			continue
		}
		if a.t.dirty && (!a.write || !a.full) {
			e.zero(a.t)
		}
		a.b = a.t.buf
	}
	for i := range args {
		a := &args[i]
		if a.write {
			continue
		}
		for j := range args {
			if args[j].write && args[j].b == a.b {
				tmp, _, err := e.getBuffer(a.b.size)
				if err != nil {
					e.fail(fmt.Errorf("webgpu: %s: staging an aliased input: %w", op, err))
					return
				}
				e.copyRaw(a.b, 0, tmp, 0, int(a.b.size/4))
				temps = append(temps, tmp)
				a.b = tmp
				break
			}
		}
	}
	if e.err != nil {
		return
	}

	// Room in this batch's arenas.
	if e.nDisp == e.paramCap || len(e.aux)+len(aux) > int(e.auxBuf.size/4) {
		e.flush(nil)
		if need := uint64(len(aux)) * 4; need > e.auxBuf.size {
			nb, err := e.newBuffer(max(need, 2*e.auxBuf.size), kindStorage)
			if err != nil {
				e.fail(fmt.Errorf("webgpu: %s: growing the aux arena to %d bytes: %w", op, need, err))
				return
			}
			e.doomed = append(e.doomed, e.auxBuf)
			e.flush(nil) // destroy the old arena now, nothing refers to it
			e.auxBuf = nb
		}
	}
	if len(aux) > 0 {
		base := uint32(len(e.aux))
		e.aux = append(e.aux, aux...)
		for _, at := range auxAt {
			params[at] += base
		}
	}
	slot := uint64(e.nDisp) * e.paramStride
	pw := e.params[slot : slot+paramBytes]
	clear(pw)
	copy(pw, u32Bytes(params))

	// Bind group, cached by pipeline and buffers.
	key := bgKey{pipe: p}
	bufs := make([]*buffer, 0, len(p.binds))
	bufs = append(bufs, e.paramBuf)
	if usesAux {
		bufs = append(bufs, e.auxBuf)
	}
	for _, a := range args {
		bufs = append(bufs, a.b)
	}
	for i, b := range bufs {
		key.ids[i] = b.id
	}
	g, ok := e.bgs[key]
	if !ok {
		db := make([]devBuffer, len(bufs))
		sizes := make([]uint64, len(bufs))
		for i, b := range bufs {
			db[i], sizes[i] = b.b, b.size
		}
		sizes[0] = paramBytes
		g, err = e.drv.newBindGroup(p.p, db, sizes)
		if err != nil {
			e.fail(fmt.Errorf("webgpu: %s: bind group for %s.wgsl: %w", op, shader, err))
			return
		}
		e.bgs[key] = g
		e.stats.BindGroups++

	}
	var t0 time.Time
	if e.prof != nil {
		e.Flush()
		t0 = time.Now()
	}
	e.drv.dispatch(p.p, g, uint32(slot), x, y, z)
	e.nDisp++
	e.stats.Dispatches++
	if e.prof != nil {
		e.Flush()
		e.prof[shader] += time.Since(t0)
	}
	for _, a := range args {
		if a.write && a.t != nil {
			a.t.dirty = false
			a.t.version++
		}
	}
	for _, tmp := range temps {
		e.putBuffer(tmp)
	}
}

// flush submits the recorded work (and the batch's arenas) with optional
// read-backs, then destroys the buffers that were waiting for it.
func (e *Engine) flush(reads []readback) {
	if e.err != nil || (e.nDisp == 0 && len(reads) == 0 && len(e.doomed) == 0) {
		return
	}
	if e.nDisp > 0 {
		if err := e.drv.writeBuffer(e.paramBuf.b, 0, e.params[:uint64(e.nDisp)*e.paramStride]); err != nil {
			e.fail(fmt.Errorf("webgpu: writing the params arena: %w", err))
			return
		}
		if len(e.aux) > 0 {
			if err := e.drv.writeBuffer(e.auxBuf.b, 0, u32Bytes(e.aux)); err != nil {
				e.fail(fmt.Errorf("webgpu: writing the aux arena: %w", err))
				return
			}
		}
	}
	if len(reads) > 0 {
		e.allocSeq = 0
	}
	if e.nDisp > 0 || len(reads) > 0 {
		if err := e.drv.submit(reads); err != nil {
			e.fail(fmt.Errorf("webgpu: submit: %w", err))
			return
		}
		e.stats.Submits++
		e.inflight = len(reads) == 0 // a read-back waits for everything submitted
	}
	e.nDisp = 0
	e.aux = e.aux[:0]
	if len(e.doomed) > 0 {
		gone := map[uint64]bool{}
		for i, b := range e.allocLast {
			if b != nil && slices.Contains(e.doomed, b) {
				e.allocLast[i] = nil
			}
		}
		for _, b := range e.doomed {
			gone[b.id] = true
			delete(e.live, b.id)
			e.drv.destroyBuffer(b.b)
		}
		e.doomed = e.doomed[:0]
		for k, g := range e.bgs {
			for _, id := range k.ids {
				if gone[id] {
					e.drv.releaseBindGroup(g)
					delete(e.bgs, k)
					break
				}
			}
		}
	}
	if len(e.bgs) > 1<<14 {
		for k, g := range e.bgs {
			e.drv.releaseBindGroup(g)
			delete(e.bgs, k)
		}
	}
}

// zero fills t with zeros (Alloc's contract for a reused buffer).
func (e *Engine) zero(t *Tensor) {
	t.dirty = false
	e.fillRaw(t.buf, 0, int(t.buf.size/4), 0)
}

func (e *Engine) fillRaw(b *buffer, off, n int, v float32) {
	x, y := e.fold((n + 255) / 256)
	e.launch("fill", "fill", []uint32{uint32(n), uint32(off), math.Float32bits(v), 0}, nil, nil,
		[]arg{raw(b, true)}, x, y, 1)
}

func (e *Engine) copyRaw(src *buffer, srcOff int, dst *buffer, dstOff, n int) {
	x, y := e.fold((n + 255) / 256)
	e.launch("copy", "copy", []uint32{uint32(n), uint32(srcOff), uint32(dstOff), 0}, nil, nil,
		[]arg{raw(src, false), raw(dst, true)}, x, y, 1)
}
