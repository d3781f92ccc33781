// rows.cu: row gathers and scatters (embedding, MoE routing).
//
//   mm_gather       out[i, :] = w[i] · x[rows[i], :]   (w NULL: a plain copy) — Embed, Gather, GatherScaled
//   mm_scatter_seg  out[seg_row[s], :] += Σ_{j in segment s} w[item_j] · x[item_j, :]
//                   — EmbedBackward and ScatterAdd, deterministic: the host
//                   groups the items of each destination row (in ascending
//                   item order, the CPU engine's order) so every output row
//                   has one writer and no atomics are needed.
//   mm_rowdot       out[i] = Σ_j a[rows[i], j] · b[i, j]  — MoE routing-weight gradient
//
// Launch shapes:
//   mm_gather:      block 256, grid-stride over n·dim elements, grid ≤ 65535.
//   mm_scatter_seg: grid (nseg, ceil(dim/256)), block 256; thread per (segment, column).
//   mm_rowdot:      block 256 (8 warps), grid ceil(n/8); one warp per row.
#include "common.cuh"

// out [n, dim], x [*, dim], rows [n], w [n] or NULL.
MM_KERNEL void mm_gather(float* out, const float* x, const int* rows, const float* w, int n, int dim) {
  long long total = (long long)n * dim;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    int i = (int)(e / dim), c = (int)(e % dim);
    float v = x[(size_t)rows[i] * dim + c];
    out[e] = w ? w[i] * v : v;
  }
}

// out [*, dim]; x [nitems, dim]; seg_start [nseg+1] offsets into items;
// items [nitems] source rows of x; seg_row [nseg] destination rows; w [nitems] or NULL.
MM_KERNEL void mm_scatter_seg(float* out, const float* x, const int* seg_start, const int* items,
                              const int* seg_row, const float* w, int nseg, int dim) {
  int s = blockIdx.x;
  int c = blockIdx.y * blockDim.x + threadIdx.x;
  if (s >= nseg || c >= dim) return;
  float* o = out + (size_t)seg_row[s] * dim + c;
  float acc = *o;
  for (int j = seg_start[s]; j < seg_start[s + 1]; j++) {
    int i = items[j];
    float v = x[(size_t)i * dim + c];
    acc = w ? fmaf(w[i], v, acc) : acc + v;
  }
  *o = acc;
}

// out [n] = Σ_j a[rows[i], j]·b[i, j]; a [*, dim], b [n, dim].
MM_KERNEL void __launch_bounds__(256) mm_rowdot(float* out, const float* a, const float* b, const int* rows, int n,
                                                int dim) {
  int i = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  int lane = threadIdx.x & 31;
  if (i >= n) return;  // whole warps leave together
  const float* ar = a + (size_t)rows[i] * dim;
  const float* br = b + (size_t)i * dim;
  float acc = 0.f;
  for (int j = lane; j < dim; j += 32) acc += ar[j] * br[j];
  acc = warp_sum(acc);
  if (lane == 0) out[i] = acc;
}
