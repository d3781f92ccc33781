//go:build !js && cgo

package webgpu

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/minimind-go/minimind/shaders"
	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// nativeDriver runs the engine on wgpu-native through go-webgpu.
type nativeDriver struct {
	inst    *wgpu.Instance
	adapter *wgpu.Adapter
	dev     *wgpu.Device
	queue   *wgpu.Queue
	ai      AdapterInfo

	enc  *wgpu.CommandEncoder
	pass *wgpu.ComputePassEncoder

	staging map[uint64][]*wgpu.Buffer // MAP_READ buffers by size
}

type nativePipeline struct {
	module *wgpu.ShaderModule
	bgl    *wgpu.BindGroupLayout
	layout *wgpu.PipelineLayout
	pipe   *wgpu.ComputePipeline
}

// openDriver requests the high-performance adapter of the primary backends
// (Vulkan, Metal, DX12) and a device with the adapter's own limits.
func openDriver(ctx context.Context) (d driver, err error) {
	defer func() {
		// go-webgpu panics when wgpu-native cannot create an instance.
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("%w: %v", ErrNoAdapter, r)
		}
	}()
	wgpu.SetLogLevel(wgpu.LogLevel_Error)
	inst := wgpu.CreateInstance(&wgpu.InstanceDescriptor{Backends: wgpu.InstanceBackend_Primary})
	ad, err := inst.RequestAdapter(&wgpu.RequestAdapterOptions{PowerPreference: wgpu.PowerPreference_HighPerformance})
	if err != nil || ad == nil {
		inst.Release()
		return nil, fmt.Errorf("%w (no Vulkan, Metal or DX12 device answered): on Linux without a GPU, install mesa-vulkan-drivers and libvulkan1 for lavapipe, a CPU Vulkan device", ErrNoAdapter)
	}
	if err := ctx.Err(); err != nil {
		ad.Release()
		inst.Release()
		return nil, err
	}
	props := ad.GetProperties()
	lim := ad.GetLimits().Limits
	dev, err := ad.RequestDevice(&wgpu.DeviceDescriptor{Label: "minimind", RequiredLimits: &wgpu.RequiredLimits{Limits: lim}})
	if err != nil {
		ad.Release()
		inst.Release()
		return nil, fmt.Errorf("webgpu: requesting a device from %s: %w", props.Name, err)
	}
	lim = dev.GetLimits().Limits
	nd := &nativeDriver{inst: inst, adapter: ad, dev: dev, queue: dev.GetQueue(), staging: map[uint64][]*wgpu.Buffer{}}
	nd.ai = AdapterInfo{
		Name: props.Name, Vendor: props.VendorName, Architecture: props.Architecture,
		Driver: props.DriverDescription, Backend: props.BackendType.String(), Type: props.AdapterType.String(),
		ShaderF16:                         ad.HasFeature(wgpu.FeatureName_ShaderF16),
		MaxBufferSize:                     lim.MaxBufferSize,
		MaxStorageBufferBindingSize:       lim.MaxStorageBufferBindingSize,
		MaxStorageBuffersPerShaderStage:   lim.MaxStorageBuffersPerShaderStage,
		MaxComputeWorkgroupStorageSize:    lim.MaxComputeWorkgroupStorageSize,
		MaxComputeInvocationsPerWorkgroup: lim.MaxComputeInvocationsPerWorkgroup,
		MaxComputeWorkgroupsPerDimension:  lim.MaxComputeWorkgroupsPerDimension,
		MinUniformBufferOffsetAlignment:   lim.MinUniformBufferOffsetAlignment,
		MinStorageBufferOffsetAlignment:   lim.MinStorageBufferOffsetAlignment,
	}
	return nd, nil
}

func (d *nativeDriver) info() AdapterInfo { return d.ai }

func (d *nativeDriver) newBuffer(size uint64, kind bufferKind) (devBuffer, error) {
	usage := wgpu.BufferUsage_Storage | wgpu.BufferUsage_CopySrc | wgpu.BufferUsage_CopyDst
	if kind == kindUniform {
		usage = wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopyDst
	}
	return d.dev.CreateBuffer(&wgpu.BufferDescriptor{Size: size, Usage: usage})
}

func (d *nativeDriver) writeBuffer(b devBuffer, offset uint64, data []byte) error {
	return d.queue.WriteBuffer(b.(*wgpu.Buffer), offset, data)
}

func (d *nativeDriver) destroyBuffer(b devBuffer) {
	wb := b.(*wgpu.Buffer)
	wb.Destroy()
	wb.Release()
}

func (d *nativeDriver) newPipeline(name, code string, binds []shaders.Binding, paramBytes uint64) (devPipeline, error) {
	np := &nativePipeline{}
	var err error
	np.module, err = d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{Label: name, WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: code}})
	if err != nil {
		return nil, err
	}
	entries := make([]wgpu.BindGroupLayoutEntry, len(binds))
	for i, b := range binds {
		ent := wgpu.BindGroupLayoutEntry{Binding: uint32(b.Index), Visibility: wgpu.ShaderStage_Compute}
		switch b.Access {
		case shaders.Uniform:
			ent.Buffer = wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Uniform, HasDynamicOffset: true, MinBindingSize: paramBytes}
		case shaders.Read:
			ent.Buffer = wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_ReadOnlyStorage}
		default:
			ent.Buffer = wgpu.BufferBindingLayout{Type: wgpu.BufferBindingType_Storage}
		}
		entries[i] = ent
	}
	if np.bgl, err = d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: name, Entries: entries}); err != nil {
		np.release()
		return nil, err
	}
	if np.layout, err = d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{Label: name, BindGroupLayouts: []*wgpu.BindGroupLayout{np.bgl}}); err != nil {
		np.release()
		return nil, err
	}
	np.pipe, err = d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{Label: name, Layout: np.layout,
		Compute: wgpu.ProgrammableStageDescriptor{Module: np.module, EntryPoint: "main"}})
	if err != nil {
		np.release()
		return nil, err
	}
	return np, nil
}

func (d *nativeDriver) releasePipeline(p devPipeline) { p.(*nativePipeline).release() }

func (np *nativePipeline) release() {
	if np.pipe != nil {
		np.pipe.Release()
	}
	if np.layout != nil {
		np.layout.Release()
	}
	if np.bgl != nil {
		np.bgl.Release()
	}
	if np.module != nil {
		np.module.Release()
	}
}

func (d *nativeDriver) newBindGroup(p devPipeline, bufs []devBuffer, sizes []uint64) (devBindGroup, error) {
	np := p.(*nativePipeline)
	entries := make([]wgpu.BindGroupEntry, len(bufs))
	for i, b := range bufs {
		entries[i] = wgpu.BindGroupEntry{Binding: uint32(i), Buffer: b.(*wgpu.Buffer), Size: sizes[i]}
	}
	return d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Layout: np.bgl, Entries: entries})
}

func (d *nativeDriver) releaseBindGroup(g devBindGroup) { g.(*wgpu.BindGroup).Release() }

func (d *nativeDriver) dispatch(p devPipeline, g devBindGroup, dynOffset uint32, x, y, z uint32) {
	if d.enc == nil {
		enc, err := d.dev.CreateCommandEncoder(nil)
		if err != nil {
			return // reported by submit: the encoder is missing
		}
		d.enc = enc
	}
	if d.pass == nil {
		d.pass = d.enc.BeginComputePass(nil)
	}
	d.pass.SetPipeline(p.(*nativePipeline).pipe)
	d.pass.SetBindGroup(0, g.(*wgpu.BindGroup), []uint32{dynOffset})
	d.pass.DispatchWorkgroups(x, y, z)
}

func (d *nativeDriver) submit(reads []readback) error {
	var errs []error
	if d.pass != nil {
		if err := d.pass.End(); err != nil {
			errs = append(errs, err)
		}
		d.pass.Release()
		d.pass = nil
	}
	if d.enc == nil {
		enc, err := d.dev.CreateCommandEncoder(nil)
		if err != nil {
			return err
		}
		d.enc = enc
	}
	enc := d.enc
	d.enc = nil
	defer enc.Release()
	stg := make([]*wgpu.Buffer, len(reads))
	for i, r := range reads {
		size := (r.size + 7) &^ 7
		if l := d.staging[size]; len(l) > 0 {
			stg[i] = l[len(l)-1]
			d.staging[size] = l[:len(l)-1]
		} else {
			b, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{Size: size, Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst})
			if err != nil {
				return fmt.Errorf("staging buffer of %d bytes: %w", size, err)
			}
			stg[i] = b
		}
		if err := enc.CopyBufferToBuffer(r.buf.(*wgpu.Buffer), 0, stg[i], 0, (r.size+3)&^3); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	cb, err := enc.Finish(nil)
	if err != nil {
		return err
	}
	d.queue.Submit(cb)
	cb.Release()
	for i, r := range reads {
		size := (r.size + 7) &^ 7
		var status wgpu.BufferMapAsyncStatus
		done := false
		if err := stg[i].MapAsync(wgpu.MapMode_Read, 0, size, func(s wgpu.BufferMapAsyncStatus) { status, done = s, true }); err != nil {
			return err
		}
		d.await(&done)
		if status != wgpu.BufferMapAsyncStatus_Success {
			return fmt.Errorf("mapping a read-back buffer: %v", status)
		}
		copy(r.dst, stg[i].GetMappedRange(0, uint(size))[:r.size])
		if err := stg[i].Unmap(); err != nil {
			return err
		}
		d.staging[size] = append(d.staging[size], stg[i])
	}
	return nil
}

// await polls the device until *done is set by a callback.
//
// It never uses a blocking poll: wgpu-core 0.17 waits at most 5 s in
// Device.Poll(true) and then treats the submission as complete — firing map
// callbacks over unfinished work and recycling command buffers and staging
// buffers still in use, which crashes the driver. On a CPU-emulated device
// a first prefill (with its shader compilations) can take longer than that.
// The non-blocking poll reads the fence's real value; between polls the
// goroutine yields, then sleeps with a growing interval (at most 1 ms).
func (d *nativeDriver) await(done *bool) {
	sleep := time.Duration(0)
	for {
		d.dev.Poll(false, nil)
		if *done {
			return
		}
		if sleep == 0 {
			runtime.Gosched()
			sleep = 5 * time.Microsecond
			continue
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, time.Millisecond)
	}
}

func (d *nativeDriver) close() {
	if d.pass != nil {
		d.pass.End()
		d.pass.Release()
		d.pass = nil
	}
	if d.enc != nil {
		d.enc.Release()
		d.enc = nil
	}
	for _, l := range d.staging {
		for _, b := range l {
			b.Destroy()
			b.Release()
		}
	}
	d.staging = nil
	if d.queue != nil {
		d.queue.Release()
	}
	d.dev.Release()
	d.adapter.Release()
	d.inst.Release()
}
