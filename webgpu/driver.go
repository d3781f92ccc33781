package webgpu

import "github.com/minimind-go/minimind/shaders"

// The driver is the slice of the WebGPU API the engine is written against.
// Two implementations exist: native (go-webgpu over wgpu-native, driver
// builds !js) and browser (syscall/js over navigator.gpu, build js). The
// engine (engine.go, ops.go) is shared, so both run the same op code.
//
// Handles are opaque values owned by the driver.
type (
	devBuffer    any
	devPipeline  any
	devBindGroup any
)

// bufferKind selects a buffer's usage flags.
type bufferKind int

const (
	// kindStorage: STORAGE | COPY_SRC | COPY_DST (tensors, the aux arena).
	kindStorage bufferKind = iota
	// kindUniform: UNIFORM | COPY_DST (the params arena).
	kindUniform
)

// readback asks submit to copy size bytes from the start of buf into dst
// once the submitted work is done.
type readback struct {
	buf  devBuffer
	size uint64
	dst  []byte
}

type driver interface {
	// info describes the adapter and the device's limits.
	info() AdapterInfo
	// newBuffer creates a zero-filled buffer.
	newBuffer(size uint64, kind bufferKind) (devBuffer, error)
	// writeBuffer queues a write of data at offset (queue-ordered: after the
	// work submitted so far, before the work submitted next).
	writeBuffer(b devBuffer, offset uint64, data []byte) error
	destroyBuffer(b devBuffer)
	// newPipeline compiles a compute pipeline with entry point main and an
	// explicit layout: binding 0 a uniform with a dynamic offset and
	// paramBytes bytes, the others storage buffers.
	newPipeline(name, code string, binds []shaders.Binding, paramBytes uint64) (devPipeline, error)
	releasePipeline(p devPipeline)
	// newBindGroup binds bufs[i] (sizes[i] bytes from offset 0) to binding i.
	newBindGroup(p devPipeline, bufs []devBuffer, sizes []uint64) (devBindGroup, error)
	releaseBindGroup(g devBindGroup)
	// dispatch records one compute dispatch into the open command encoder.
	dispatch(p devPipeline, g devBindGroup, dynOffset uint32, x, y, z uint32)
	// submit finishes the recorded commands, submits them as one command
	// buffer and, when reads is not empty, waits for them and fills each
	// read's dst.
	submit(reads []readback) error
	close()
}
