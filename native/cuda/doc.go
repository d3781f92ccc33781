// Package cuda is the CUDA engine of MiniMind: model.Engine and
// model.TrainEngine on an NVIDIA GPU (compute capability 8.0 or newer).
//
// # Building
//
// The engine is behind the build tag cuda, because gorgonia.org/cu (the
// driver API binding) calls os.Exit(1) in its package init when no driver
// answers; without the tag this package holds only its host-side arithmetic
// (launch shapes, the cuBLASLt operand mapping, ...) and the default build
// needs no CUDA at all. With the tag:
//
//	go build -tags cuda ./...        # needs cuda.h and a libcuda.so to link (Debian: nvidia-cuda-toolkit)
//	go test -tags cuda ./native/cuda # on a GPU machine only: without a driver the test binary exits
//	go test -tags cudaemu ./native/cuda   # anywhere: the same engine on a CPU emulation of CUDA
//
// The binary links only libcuda.so.1. The kernels are the PTX embedded by
// package kernels (sm_80, JIT-compiled by the driver for the GPU at hand);
// the matrix products go to cuBLASLt, loaded at run time with dlopen from
// Options.CuBLASLtPath, $MINIMIND_CUBLASLT, or the sonames
// libcublasLt.so.13, .12, .11 (newest first), and fall back to the engine's
// own tensor-core kernel (wmma, bf16 in, fp32 accumulation) when none is
// found. So one binary runs under CUDA 11.8 to 13 drivers.
//
// The cudaemu tag builds the same engine on a backend that runs the
// kernels, compiled as C++, on a CPU emulation of the CUDA programming model
// (kernels/emu): its tests check every kernel and whole training steps
// against the CPU engine on machines without a GPU. It is a test tool, not a
// way to train.
//
// # What runs where
//
// Every op of the model's forward and backward pass is a kernel (see the
// headers of kernels/*.cu for what each computes and its launch shape):
// embedding, RMSNorm (fused with the residual add before it in the forward
// pass and with the residual-gradient add after it in the backward pass),
// RoPE, causal GQA attention in the flash style (key/value tiles in shared
// memory, online softmax, packed-document masks; the backward pass recomputes
// the probabilities tile by tile and needs no T×T buffer; on tensor cores
// when the products run in bf16 and no KV cache is used, in float32 on the
// CUDA cores otherwise), SwiGLU, softmax,
// the MoE gathers and scatters, the fused softmax + cross-entropy (it writes
// the logits' gradient in place and never stores the probabilities), AdamW on
// float32 master weights, and the sum of squares of the global gradient norm.
//
// With Precision BF16 (the default) the operands of every matrix product
// are rounded to bfloat16 and the products accumulate in float32, like
// PyTorch's bf16 autocast; everything else stays float32. Each tensor keeps
// a bf16 copy that is remade only after the tensor is written (weights: once
// per optimizer step, by the AdamW kernel itself).
//
// # Launch overhead
//
// All work goes to the legacy default stream in issue order; ops return as
// soon as their kernels are queued, and the host waits only where a value
// comes back (Read, CrossEntropy's loss, SumSquares, RowDot and the MoE
// router's scores). Buffers come from a size-class pool (no cuMemAlloc in the
// steady state); zeroing is lazy (a zeroed gradient is overwritten, not
// accumulated into); uploaded token ids and positions are reused while
// unchanged; an Add followed by the RMSNorm of its sum, and an
// RMSNormBackward followed by the add of its result, run as one kernel each.
// CUDA graphs are not used: the model's op sequence reads results back
// mid-step (the loss, MoE routing), and at MiniMind's training shapes (32 ×
// 512 tokens) every kernel runs for far longer than its launch.
//
// Results are deterministic: no atomics, and every reduction has a fixed
// order (embedding and scatter gradients are grouped by row on the host,
// norm-weight gradients are summed per block and then across blocks).
package cuda
