// common.cuh: helpers shared by every kernel file of the MiniMind CUDA engine.
//
// The kernels are written once and compiled two ways:
//   - by nvcc to PTX for sm_80 (the product; see generate.go), and
//   - by a C++ compiler with MM_EMU defined, against emu/cuda_emu.h, a small
//     CPU emulation of the CUDA programming model used by the engine's tests
//     on machines without a GPU (native/cuda, build tag cudaemu).
// So the kernels keep to a plain subset: extern "C" entry points, static
// __shared__ arrays, full-warp shuffles, wmma through load/mma/store only.
//
// Conventions: every tensor is row-major; float32 unless the name says bf16;
// sizes are int, offsets into large buffers are size_t.
#pragma once

#ifdef MM_EMU
#include "emu/cuda_emu.h"
#else
#include <cuda_bf16.h>
#include <mma.h>
#endif

// MM_KERNEL marks an entry point: unmangled so the host finds it by name.
#define MM_KERNEL extern "C" __global__

// bf16 is a bfloat16 kept as its raw 16 bits.
typedef unsigned short bf16;

// bf2f widens a bfloat16 exactly.
__device__ __forceinline__ float bf2f(bf16 h) { return __uint_as_float(((unsigned)h) << 16); }

// f2bf rounds a float to the nearest bfloat16 (ties to even); NaN stays NaN.
__device__ __forceinline__ bf16 f2bf(float f) {
  unsigned u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (bf16)(u >> 16);
}

__device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int imax(int a, int b) { return a > b ? a : b; }

// warp_sum / warp_max reduce over the 32 lanes of a full warp; every lane
// gets the result.
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// group_sum reduces over aligned groups of G consecutive lanes (G a power of
// two ≤ 32); every lane of the group gets the group's sum. All 32 lanes must
// call it.
template <int G>
__device__ __forceinline__ float group_sum(float v) {
  for (int o = G / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// block_sum / block_max reduce over a block of blockDim.x threads (a
// multiple of 32, at most 1024); every thread gets the result. scratch holds
// 32 floats of shared memory; the call synchronises the block twice.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch is free (a previous call may still be reading it)
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = 0.f;
  for (int i = 0; i < nw; i++) r += scratch[i];  // fixed order: deterministic
  return r;
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = -INFINITY;
  for (int i = 0; i < nw; i++) r = fmaxf(r, scratch[i]);
  return r;
}
