// norm.cu: RMSNorm forward and backward, fused with the residual add.
//
//   mm_rmsnorm      x = a (+ b when b != NULL, written to sum when sum != NULL);
//                   out[r, :] = w ⊙ x[r, :] · rsqrt(mean(x[r, :]²) + eps)
//                   — RMSNorm, and Add followed by RMSNorm of the sum in one pass.
//   mm_rmsnorm_bwd  with inv = rsqrt(mean(x²)+eps), y = w⊙x·inv:
//                   dx = inv·(w⊙dy) − inv³/dim · x · Σ(w⊙dy⊙x)   (dxacc += dx when dxacc != NULL,
//                   the residual add of the backward pass fused in), and the block's share of
//                   dw, dwpart[block, c] = Σ_{rows r of the block} dy[r,c]·x[r,c]·inv[r]; the host
//                   then runs mm_colsum_acc (elementwise.cu) to add Σ_block dwpart into dw.
//
// Launch shapes:
//   mm_rmsnorm:     block 256 (8 warps), grid ceil(rows/8); one warp per row.
//   mm_rmsnorm_bwd: block 256 (8 warps), grid ceil(rows/NORM_BWD_ROWS); each warp takes
//                   NORM_BWD_ROWS/8 consecutive rows; dwpart is [grid, dim].
#include "common.cuh"

#define NORM_BWD_ROWS 32

// a, b, sum, out [rows, dim]; w [dim]. sum may alias a or b; out may alias a when b is NULL.
MM_KERNEL void __launch_bounds__(256) mm_rmsnorm(float* out, float* sum, const float* a, const float* b,
                                                 const float* w, int rows, int dim, float eps) {
  int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  int lane = threadIdx.x & 31;
  if (r >= rows) return;
  size_t off = (size_t)r * dim;
  float ss = 0.f;
  for (int i = lane; i < dim; i += 32) {
    float v = a[off + i];
    if (b) {
      v += b[off + i];
      if (sum) sum[off + i] = v;
    }
    ss += v * v;
  }
  ss = warp_sum(ss);
  float inv = 1.f / sqrtf(ss / (float)dim + eps);
  const float* x = (b && sum) ? sum : a;
  for (int i = lane; i < dim; i += 32) {
    float v = x[off + i];
    if (b && !sum) v += b[off + i];
    out[off + i] = w[i] * (v * inv);
  }
}

// dx, dxacc, dout, x [rows, dim]; w [dim]; dwpart [gridDim.x, dim].
// dx must not alias dout or x.
MM_KERNEL void __launch_bounds__(256) mm_rmsnorm_bwd(float* dx, float* dxacc, float* dwpart, const float* dout,
                                                     const float* x, const float* w, int rows, int dim, float eps) {
  __shared__ float inv_s[NORM_BWD_ROWS];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
  const int r0 = blockIdx.x * NORM_BWD_ROWS;
  const int per = NORM_BWD_ROWS / nw;
  for (int k = 0; k < per; k++) {
    int rr = warp * per + k, r = r0 + rr;
    if (r >= rows) break;  // uniform within the warp
    size_t off = (size_t)r * dim;
    float ss = 0.f, dot = 0.f;
    for (int i = lane; i < dim; i += 32) {
      float xv = x[off + i];
      ss += xv * xv;
      dot += w[i] * dout[off + i] * xv;
    }
    ss = warp_sum(ss);
    dot = warp_sum(dot);
    float inv = 1.f / sqrtf(ss / (float)dim + eps);
    float kk = inv * inv * inv / (float)dim * dot;
    for (int i = lane; i < dim; i += 32) {
      float g = inv * w[i] * dout[off + i] - kk * x[off + i];
      dx[off + i] = g;
      if (dxacc) dxacc[off + i] += g;
    }
    if (lane == 0) inv_s[rr] = inv;
  }
  __syncthreads();
  int nr = imin(NORM_BWD_ROWS, rows - r0);
  for (int c = threadIdx.x; c < dim; c += blockDim.x) {
    float acc = 0.f;
    for (int rr = 0; rr < nr; rr++) {
      size_t off = (size_t)(r0 + rr) * dim + c;
      acc += dout[off] * x[off] * inv_s[rr];
    }
    dwpart[(size_t)blockIdx.x * dim + c] = acc;
  }
}
