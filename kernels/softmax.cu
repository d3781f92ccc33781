// softmax.cu: row softmax, its backward, and the fused softmax + cross-entropy.
//
//   mm_softmax      out[r, :] = softmax(x[r, :])                 (out may alias x)
//   mm_softmax_bwd  dx[r, :] = y[r, :] ⊙ (dy[r, :] − ⟨dy[r, :], y[r, :]⟩)
//   mm_xent         for a row r with labels[r] ≠ -100 (ignore_index):
//                     loss[r]    = logsumexp(logits[r, :]) − logits[r, labels[r]]
//                     dlogits[r] = scale · (softmax(logits[r, :]) − onehot(labels[r]))
//                   and for an ignored row loss[r] = 0, dlogits[r, :] = 0. The
//                   probabilities are never stored: three passes over the row
//                   (max, Σexp, write the gradient). dlogits may alias logits.
//                   The host sums loss[] in float64, in row order.
//
// Launch shapes:
//   mm_softmax, mm_softmax_bwd: block 256 (8 warps), grid ceil(rows/8); one warp per row.
//   mm_xent:                    block 256, grid rows; one block per row.
#include "common.cuh"

// x, out [rows, cols]
MM_KERNEL void __launch_bounds__(256) mm_softmax(float* out, const float* x, int rows, int cols) {
  int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  int lane = threadIdx.x & 31;
  if (r >= rows) return;
  const float* xr = x + (size_t)r * cols;
  float* o = out + (size_t)r * cols;
  float m = -INFINITY;
  for (int i = lane; i < cols; i += 32) m = fmaxf(m, xr[i]);
  m = warp_max(m);
  float s = 0.f;
  for (int i = lane; i < cols; i += 32) s += expf(xr[i] - m);
  s = warp_sum(s);
  float inv = 1.f / s;
  for (int i = lane; i < cols; i += 32) o[i] = expf(xr[i] - m) * inv;
}

// dx, dy, y [rows, cols]; dx must not alias y.
MM_KERNEL void __launch_bounds__(256) mm_softmax_bwd(float* dx, const float* dy, const float* y, int rows, int cols) {
  int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  int lane = threadIdx.x & 31;
  if (r >= rows) return;
  size_t off = (size_t)r * cols;
  float dot = 0.f;
  for (int i = lane; i < cols; i += 32) dot += dy[off + i] * y[off + i];
  dot = warp_sum(dot);
  for (int i = lane; i < cols; i += 32) dx[off + i] = y[off + i] * (dy[off + i] - dot);
}

// dlogits, logits [rows, V]; labels [rows]; loss [rows].
MM_KERNEL void __launch_bounds__(256) mm_xent(float* dlogits, float* loss, const float* logits, const int* labels,
                                              int rows, int V, float scale) {
  __shared__ float scratch[32];
  int r = blockIdx.x;
  if (r >= rows) return;
  size_t off = (size_t)r * V;
  const float* x = logits + off;
  float* d = dlogits + off;
  int l = labels[r];
  if (l < 0 || l >= V) {  // ignore_index (the host rejects other out-of-range labels)
    for (int i = threadIdx.x; i < V; i += blockDim.x) d[i] = 0.f;
    if (threadIdx.x == 0) loss[r] = 0.f;
    return;
  }
  float m = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, x[i]);
  m = block_max(m, scratch);
  float s = 0.f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) s += expf(x[i] - m);
  s = block_sum(s, scratch);
  float xl = x[l];
  __syncthreads();  // every thread has read x[l] before d (which may alias x) is written
  if (threadIdx.x == 0) loss[r] = (float)((double)m + log((double)s) - (double)xl);
  float inv = 1.f / s;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    float g = scale * (expf(x[i] - m) * inv);
    if (i == l) g -= scale;
    d[i] = g;
  }
}
