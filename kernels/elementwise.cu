// elementwise.cu: one-pass kernels over flat buffers.
//
//   mm_add          out[i] = a[i] + b[i]                         (out may alias a or b)
//   mm_scale        x[i] *= s
//   mm_swiglu       out[i] = silu(gate[i]) · up[i]
//   mm_swiglu_bwd   dgate[i], dup[i] from dout[i] for out = silu(gate)·up
//   mm_cast_bf16    out_bf16[i] = bf16(x[i])  (round to nearest even)
//   mm_cast_f32     out[i] = float(x_bf16[i])
//   mm_adamw        one AdamW update of fp32 master weights (+ optional bf16 copy)
//   mm_sumsq        per-block partial Σ x[i]² (fp64), summed on the host in order
//   mm_colsum_acc   out[c] += Σ_b part[b, c] over nb blocks, in order
//
// Launch shape (all but mm_sumsq and mm_colsum_acc): 1-D grid-stride loop,
// block 256 threads, grid min(ceil(n/256), 65535) blocks — any n works.
// mm_sumsq: block 256, a fixed grid of SUMSQ_BLOCKS blocks (the host reads
// that many partials), so the summation order never depends on the device.
// mm_colsum_acc: block 256, grid ceil(cols/256); thread per column.
#include "common.cuh"

#define GRID_STRIDE(i, n) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// out [n] = a [n] + b [n]
MM_KERNEL void mm_add(float* out, const float* a, const float* b, long long n) {
  GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// x [n] *= s
MM_KERNEL void mm_scale(float* x, long long n, float s) {
  GRID_STRIDE(i, n) x[i] *= s;
}

// out [n] = gate/(1+exp(-gate)) · up
MM_KERNEL void mm_swiglu(float* out, const float* gate, const float* up, long long n) {
  GRID_STRIDE(i, n) {
    float x = gate[i];
    out[i] = x / (1.f + expf(-x)) * up[i];
  }
}

// For out = silu(g)·u with σ = sigmoid(g): dup = dout·g·σ,
// dgate = dout·u·σ·(1 + g·(1-σ)). All [n].
MM_KERNEL void mm_swiglu_bwd(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                             long long n) {
  GRID_STRIDE(i, n) {
    float x = gate[i], d = dout[i];
    float sig = 1.f / (1.f + expf(-x));
    dup[i] = d * (x * sig);
    dgate[i] = d * up[i] * sig * (1.f + x * (1.f - sig));
  }
}

// out_bf16 [n] = bf16(x [n])
MM_KERNEL void mm_cast_bf16(bf16* out, const float* x, long long n) {
  GRID_STRIDE(i, n) out[i] = f2bf(x[i]);
}

// out [n] = float(x_bf16 [n])
MM_KERNEL void mm_cast_f32(float* out, const bf16* x, long long n) {
  GRID_STRIDE(i, n) out[i] = bf2f(x[i]);
}

// AdamW with PyTorch's arithmetic (the CPU engine's order of operations):
//   p *= decay; m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
//   p -= step_size · m / (sqrt(v)/bc2_sqrt + eps)
// decay = 1 - lr·wd, step_size = lr/(1-β1^t), bc2_sqrt = sqrt(1-β2^t) are
// computed on the host. p, g, m, v [n] fp32; pbf [n] (may be NULL) receives
// bf16(p), the working copy the bf16 matmuls read.
MM_KERNEL void mm_adamw(float* p, const float* g, float* m, float* v, bf16* pbf, long long n, float decay, float b1,
                        float b2, float eps, float step_size, float bc2_sqrt) {
  GRID_STRIDE(i, n) {
    float gi = g[i];
    float pi = p[i] * decay;
    float mi = m[i] * b1 + gi * (1.f - b1);
    float vi = v[i] * b2 + gi * gi * (1.f - b2);
    float denom = sqrtf(vi) / bc2_sqrt + eps;
    pi -= step_size * mi / denom;
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
    if (pbf) pbf[i] = f2bf(pi);
  }
}

// part [gridDim.x] = per-block Σ x[i]² over x [n] (grid-stride), fp64.
MM_KERNEL void __launch_bounds__(256) mm_sumsq(double* part, const float* x, long long n) {
  __shared__ double sc[8];
  float acc = 0.f;
  GRID_STRIDE(i, n) acc += x[i] * x[i];
  double d = (double)acc;
  for (int o = 16; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
  if ((threadIdx.x & 31) == 0) sc[threadIdx.x >> 5] = d;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) s += sc[w];
    part[blockIdx.x] = s;
  }
}

// out [cols] += Σ_{b < nb} part [nb, cols] (b ascending: deterministic).
MM_KERNEL void mm_colsum_acc(float* out, const float* part, int nb, int cols) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float s = 0.f;
  for (int b = 0; b < nb; b++) s += part[(size_t)b * cols + c];
  out[c] += s;
}
