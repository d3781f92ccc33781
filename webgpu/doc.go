// Package webgpu is the WebGPU engine of the MiniMind model: an
// implementation of model.Engine whose ops run as WGSL compute shaders
// (package shaders) on any WebGPU device.
//
// One Go API, two implementations of the device layer:
//
//   - native (every GOOS but js): github.com/rajveermalviya/go-webgpu over
//     wgpu-native, linked statically through cgo. It finds Vulkan, Metal or
//     DX12 at run time, so a binary built here starts on a machine without a
//     GPU and New just reports that there is no adapter. On a Linux machine
//     without a GPU, Mesa's lavapipe (apt-get install mesa-vulkan-drivers
//     libvulkan1) provides a CPU-emulated Vulkan device. Built with
//     CGO_ENABLED=0, New returns an error saying so.
//   - browser (GOOS=js GOARCH=wasm): syscall/js over navigator.gpu.
//
// The engine keeps every tensor on the device. Ops are recorded into one
// command encoder and submitted in a batch when the host needs a result
// (Read, Argmax, TopK, Flush), so a decode step is one command buffer.
// Pipelines are compiled once, bind groups cached, the small per-op
// parameters packed into a uniform arena bound with dynamic offsets, and
// host integer data (token ids, positions, MoE rows) packed into one storage
// arena per batch. Freed tensors go to a pool keyed by size, so the buffers
// of a decode step are reused by the next.
//
// Kernels: MatMul runs matvec.wgsl for n ≤ 4 rows (decode), otherwise the
// workgroup-memory tiling of matmul.wgsl, or on a CPU-emulated adapter
// (lavapipe, SwiftShader: AdapterInfo.CPUEmulated) the barrier-free
// matmul_reg.wgsl, which is several times faster there. Attention runs
// attention_decode.wgsl, which serves the query heads of one kv head
// together (decode, and prefill while its B·H·T·width scratch stays under
// 32 MiB), else the online-softmax attention.wgsl. Argmax and TopK pick
// tokens on the device.
//
// The model.Engine interface has no error results. The engine never panics
// on a device problem (no adapter, a buffer above the adapter's limits, a
// shader that does not compile, a tensor of another engine): the first
// error is kept, later ops do nothing, Read returns zeros, and Err reports
// it. Check Err after a forward pass.
//
// # Browser constraint
//
// In the browser every WebGPU call that waits (requestAdapter, pipeline
// compilation, mapAsync for Read) awaits a JavaScript promise by blocking the
// calling goroutine on a channel until the promise settles. That is fine on
// any goroutine, including main, as long as the JavaScript event loop keeps
// running, but it deadlocks inside a js.FuncOf callback, which holds the
// event loop: call New, Read, Argmax, TopK, Flush and the model's Forward
// or Generate from a goroutine started for the purpose, never directly from
// a callback.
//
// # Weights in half precision
//
// With Options.Weights set to WeightsF16 (or WeightsAuto on an adapter with
// shader-f16) the w operand of MatMul is converted once on the device to
// packed IEEE halves and decoded in the shader with unpack2x16float (core
// WGSL, so the packing works even where the f16 shader type does not), which
// halves the memory read per decoded token. Arithmetic stays f32. The f32
// copy is kept (it serves Embed when embeddings are tied). The default,
// WeightsF32, matches the CPU engine to about 1e-6.
package webgpu
