//go:build js

package webgpu

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/minimind-go/minimind/shaders"
)

// WebGPU constants (GPUBufferUsage, GPUShaderStage, GPUMapMode).
const (
	jsMapRead  = 0x0001
	jsCopySrc  = 0x0004
	jsCopyDst  = 0x0008
	jsUniform  = 0x0040
	jsStorage  = 0x0080
	jsCompute  = 0x4
	jsModeRead = 0x1
)

// jsDriver runs the engine on the browser's navigator.gpu through
// syscall/js. Every call that waits awaits a promise on a channel: see the
// package documentation for the constraint this puts on callers.
type jsDriver struct {
	ctx     context.Context
	adapter js.Value
	device  js.Value
	queue   js.Value
	ai      AdapterInfo

	// Cached method values, bound to their receiver once.
	createBuffer, createBindGroup, writeBuf, submitFn js.Value
	u8                                                js.Value // Uint8Array constructor
	object, array                                     js.Value // Object and Array constructors
	scratch                                           js.Value // Uint8Array staging host data for writeBuffer
	offsets                                           js.Value // Uint32Array(1) holding a dynamic offset

	enc, pass                            js.Value
	setPipeline, setBindGroup, dispatchW js.Value // bound to the open pass

	staging map[uint64][]js.Value // MAP_READ buffers by size

	mu      sync.Mutex // guards devErr (set from event callbacks)
	devErr  error
	onError js.Func
}

type jsPipeline struct {
	bgl, pipe js.Value
}

// bound returns obj[name] bound to obj, for repeated Invoke calls.
func bound(obj js.Value, name string) js.Value {
	return obj.Get(name).Call("bind", obj)
}

// await blocks the calling goroutine until the promise settles. It must not
// run inside a js.FuncOf callback (the event loop would never resolve it).
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(this js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	catch := js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "promise rejected"
		if len(args) > 0 {
			msg = jsString(args[0])
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// jsString renders a JavaScript value (an Error, a GPUError, a string).
func jsString(v js.Value) string {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			return m.String()
		}
	}
	return v.Call("toString").String()
}

// openDriver requests a high-performance adapter and a device with the
// adapter's limits for buffer sizes, storage buffers and workgroup memory.
func openDriver(ctx context.Context) (driver, error) {
	gpu := js.Global().Get("navigator").Get("gpu")
	if gpu.IsUndefined() || gpu.IsNull() {
		return nil, fmt.Errorf("%w: this browser has no navigator.gpu (WebGPU is off, or the page is not a secure context)", ErrNoAdapter)
	}
	opts := js.Global().Get("Object").New()
	opts.Set("powerPreference", "high-performance")
	ad, err := await(ctx, gpu.Call("requestAdapter", opts))
	if err != nil {
		return nil, fmt.Errorf("%w: requestAdapter: %v", ErrNoAdapter, err)
	}
	if ad.IsNull() || ad.IsUndefined() {
		return nil, fmt.Errorf("%w: navigator.gpu.requestAdapter returned null", ErrNoAdapter)
	}
	// Later waits (pipelines, read-backs) outlive New's context.
	d := &jsDriver{ctx: context.WithoutCancel(ctx), adapter: ad, staging: map[uint64][]js.Value{},
		u8: js.Global().Get("Uint8Array"), object: js.Global().Get("Object"), array: js.Global().Get("Array")}
	al := ad.Get("limits")
	req := d.object.New()
	for _, name := range []string{"maxBufferSize", "maxStorageBufferBindingSize", "maxStorageBuffersPerShaderStage",
		"maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup", "maxComputeWorkgroupSizeX"} {
		if v := al.Get(name); !v.IsUndefined() {
			req.Set(name, v)
		}
	}
	desc := d.object.New()
	desc.Set("label", "minimind")
	desc.Set("requiredLimits", req)
	dev, err := await(ctx, ad.Call("requestDevice", desc))
	if err != nil {
		return nil, fmt.Errorf("webgpu: requestDevice: %w", err)
	}
	d.device = dev
	d.queue = dev.Get("queue")
	d.createBuffer = bound(dev, "createBuffer")
	d.createBindGroup = bound(dev, "createBindGroup")
	d.writeBuf = bound(d.queue, "writeBuffer")
	d.submitFn = bound(d.queue, "submit")
	d.scratch = d.u8.New(1 << 16)
	d.offsets = js.Global().Get("Uint32Array").New(1)
	d.onError = js.FuncOf(func(this js.Value, args []js.Value) any {
		msg := "uncaptured WebGPU error"
		if len(args) > 0 {
			msg = jsString(args[0].Get("error"))
		}
		d.mu.Lock()
		if d.devErr == nil {
			d.devErr = errors.New(msg)
		}
		d.mu.Unlock()
		return nil
	})
	dev.Call("addEventListener", "uncapturederror", d.onError)

	info := ad.Get("info") // GPUAdapterInfo (older browsers: requestAdapterInfo())
	if info.IsUndefined() && ad.Get("requestAdapterInfo").Type() == js.TypeFunction {
		if v, err := await(ctx, ad.Call("requestAdapterInfo")); err == nil {
			info = v
		}
	}
	str := func(o js.Value, k string) string {
		if o.IsUndefined() || o.IsNull() {
			return ""
		}
		if v := o.Get(k); v.Type() == js.TypeString {
			return v.String()
		}
		return ""
	}
	dl := dev.Get("limits")
	u64 := func(k string) uint64 { return uint64(dl.Get(k).Float()) }
	u32 := func(k string) uint32 { return uint32(dl.Get(k).Int()) }
	d.ai = AdapterInfo{
		Name: str(info, "description"), Vendor: str(info, "vendor"), Architecture: str(info, "architecture"),
		Driver: str(info, "device"), Backend: "WebGPU (browser)", Type: "Unknown",
		ShaderF16:                         ad.Get("features").Call("has", "shader-f16").Bool(),
		MaxBufferSize:                     u64("maxBufferSize"),
		MaxStorageBufferBindingSize:       u64("maxStorageBufferBindingSize"),
		MaxStorageBuffersPerShaderStage:   u32("maxStorageBuffersPerShaderStage"),
		MaxComputeWorkgroupStorageSize:    u32("maxComputeWorkgroupStorageSize"),
		MaxComputeInvocationsPerWorkgroup: u32("maxComputeInvocationsPerWorkgroup"),
		MaxComputeWorkgroupsPerDimension:  u32("maxComputeWorkgroupsPerDimension"),
		MinUniformBufferOffsetAlignment:   u32("minUniformBufferOffsetAlignment"),
		MinStorageBufferOffsetAlignment:   u32("minStorageBufferOffsetAlignment"),
	}
	if d.ai.Name == "" {
		d.ai.Name = str(info, "vendor") + " " + str(info, "architecture")
	}
	if fb := ad.Get("isFallbackAdapter"); fb.Type() == js.TypeBoolean && fb.Bool() {
		d.ai.Type = "CPU"
	}
	return d, nil
}

func (d *jsDriver) info() AdapterInfo { return d.ai }

// takeErr returns (and clears) an error reported by the device.
func (d *jsDriver) takeErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.devErr
	d.devErr = nil
	return err
}

func (d *jsDriver) newBuffer(size uint64, kind bufferKind) (devBuffer, error) {
	usage := jsStorage | jsCopySrc | jsCopyDst
	if kind == kindUniform {
		usage = jsUniform | jsCopyDst
	}
	desc := d.object.New()
	desc.Set("size", float64(size))
	desc.Set("usage", usage)
	return d.createBuffer.Invoke(desc), d.takeErr()
}

func (d *jsDriver) writeBuffer(b devBuffer, offset uint64, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 1<<24) // at most 16 MiB of scratch
		if d.scratch.Get("length").Int() < n {
			d.scratch = d.u8.New(n)
		}
		js.CopyBytesToJS(d.scratch, data[:n])
		d.writeBuf.Invoke(b.(js.Value), float64(offset), d.scratch, 0, n)
		data = data[n:]
		offset += uint64(n)
	}
	return nil
}

func (d *jsDriver) destroyBuffer(b devBuffer) { b.(js.Value).Call("destroy") }

func (d *jsDriver) newPipeline(name, code string, binds []shaders.Binding, paramBytes uint64) (devPipeline, error) {
	md := d.object.New()
	md.Set("label", name)
	md.Set("code", code)
	module := d.device.Call("createShaderModule", md)
	if ci, err := await(d.ctx, module.Call("getCompilationInfo")); err == nil {
		msgs := ci.Get("messages")
		var errs []error
		for i := 0; i < msgs.Length(); i++ {
			m := msgs.Index(i)
			if m.Get("type").String() == "error" {
				errs = append(errs, fmt.Errorf("line %d: %s", m.Get("lineNum").Int(), m.Get("message").String()))
			}
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	}
	entries := d.array.New()
	for _, b := range binds {
		buf := d.object.New()
		switch b.Access {
		case shaders.Uniform:
			buf.Set("type", "uniform")
			buf.Set("hasDynamicOffset", true)
			buf.Set("minBindingSize", float64(paramBytes))
		case shaders.Read:
			buf.Set("type", "read-only-storage")
		default:
			buf.Set("type", "storage")
		}
		ent := d.object.New()
		ent.Set("binding", b.Index)
		ent.Set("visibility", jsCompute)
		ent.Set("buffer", buf)
		entries.Call("push", ent)
	}
	ld := d.object.New()
	ld.Set("label", name)
	ld.Set("entries", entries)
	bgl := d.device.Call("createBindGroupLayout", ld)
	pld := d.object.New()
	pld.Set("bindGroupLayouts", d.array.New(bgl))
	layout := d.device.Call("createPipelineLayout", pld)
	stage := d.object.New()
	stage.Set("module", module)
	stage.Set("entryPoint", "main")
	cd := d.object.New()
	cd.Set("label", name)
	cd.Set("layout", layout)
	cd.Set("compute", stage)
	pipe, err := await(d.ctx, d.device.Call("createComputePipelineAsync", cd))
	if err != nil {
		return nil, err
	}
	return &jsPipeline{bgl: bgl, pipe: pipe}, nil
}

func (d *jsDriver) newBindGroup(p devPipeline, bufs []devBuffer, sizes []uint64) (devBindGroup, error) {
	entries := d.array.New()
	for i, b := range bufs {
		res := d.object.New()
		res.Set("buffer", b.(js.Value))
		res.Set("size", float64(sizes[i]))
		ent := d.object.New()
		ent.Set("binding", i)
		ent.Set("resource", res)
		entries.Call("push", ent)
	}
	desc := d.object.New()
	desc.Set("layout", p.(*jsPipeline).bgl)
	desc.Set("entries", entries)
	return d.createBindGroup.Invoke(desc), nil
}

func (d *jsDriver) releaseBindGroup(g devBindGroup) {} // garbage-collected

func (d *jsDriver) releasePipeline(p devPipeline) {} // garbage-collected

func (d *jsDriver) dispatch(p devPipeline, g devBindGroup, dynOffset uint32, x, y, z uint32) {
	if d.enc.IsUndefined() {
		d.enc = d.device.Call("createCommandEncoder")
	}
	if d.pass.IsUndefined() {
		d.pass = d.enc.Call("beginComputePass")
		d.setPipeline = bound(d.pass, "setPipeline")
		d.setBindGroup = bound(d.pass, "setBindGroup")
		d.dispatchW = bound(d.pass, "dispatchWorkgroups")
	}
	d.setPipeline.Invoke(p.(*jsPipeline).pipe)
	d.offsets.SetIndex(0, dynOffset)
	d.setBindGroup.Invoke(0, g.(js.Value), d.offsets, 0, 1)
	d.dispatchW.Invoke(x, y, z)
}

func (d *jsDriver) submit(reads []readback) error {
	if !d.pass.IsUndefined() {
		d.pass.Call("end")
		d.pass = js.Undefined()
	}
	if d.enc.IsUndefined() {
		d.enc = d.device.Call("createCommandEncoder")
	}
	stg := make([]js.Value, len(reads))
	for i, r := range reads {
		size := (r.size + 7) &^ 7
		if l := d.staging[size]; len(l) > 0 {
			stg[i] = l[len(l)-1]
			d.staging[size] = l[:len(l)-1]
		} else {
			desc := d.object.New()
			desc.Set("size", float64(size))
			desc.Set("usage", jsMapRead|jsCopyDst)
			stg[i] = d.createBuffer.Invoke(desc)
		}
		d.enc.Call("copyBufferToBuffer", r.buf.(js.Value), 0, stg[i], 0, float64((r.size+3)&^3))
	}
	cb := d.enc.Call("finish")
	d.enc = js.Undefined()
	d.submitFn.Invoke(d.array.New(cb))
	for i, r := range reads {
		size := (r.size + 7) &^ 7
		if _, err := await(d.ctx, stg[i].Call("mapAsync", jsModeRead, 0, float64(size))); err != nil {
			return fmt.Errorf("mapping a read-back buffer: %w", err)
		}
		view := d.u8.New(stg[i].Call("getMappedRange", 0, float64(size)))
		js.CopyBytesToGo(r.dst, view.Call("subarray", 0, float64(r.size)))
		stg[i].Call("unmap")
		d.staging[size] = append(d.staging[size], stg[i])
	}
	return d.takeErr()
}

func (d *jsDriver) close() {
	for _, l := range d.staging {
		for _, b := range l {
			b.Call("destroy")
		}
	}
	d.staging = nil
	d.device.Call("removeEventListener", "uncapturederror", d.onError)
	d.onError.Release()
	d.device.Call("destroy")
}
