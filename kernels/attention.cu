// attention.cu: causal grouped-query attention, flash style (fp32).
//
// Shapes (the engine's model.AttnArgs):
//   q [B, T, H, hd]; k, v [B, S, KVH, hd] (rows 0..pos0+T-1 valid); out [B, T, H, hd];
//   query t of a sequence sits at position pos0+t and sees keys 0..pos0+t;
//   query head h reads kv head h / (H/KVH); docs [B, T] (or NULL, needs pos0 = 0)
//   restricts a query to the keys of its own document.
//   lse [B, T, H] = logsumexp of the scaled, masked scores (saved for backward);
//   dvec [B, T, H] = Σ_d dout·out (the backward's rowsum term).
//
// No T×T matrix is written: keys and values stream through shared memory in
// tiles of BK rows, the softmax is online (running max m and sum l per query).
// Every kernel is a template on HDP, hd rounded up to a supported size
// (16, 32, 64, 80, 96, 128); dims ≥ hd are zero padding. Head dims are
// split over a few threads per row: part p of a row owns the float4 chunks
// d = 4·TP·c + 4·p + e (c < HDP/(4·TP), e < 4), so a warp's shared-memory
// reads of one key are consecutive (no bank conflicts, broadcast across rows).
//
//   mm_attn_fwd_<HDP>     out, lse.          grid (ceil(T/32), H, B), block 128: 32 queries × 4 threads.
//   mm_attn_bwd_pre       dvec.              grid ceil(B·T·H/8), block 256: one warp per (b, t, h).
//   mm_attn_bwd_dq_<HDP>  dq (overwritten).  grid (ceil(T/32), H, B), block 128: 32 queries × 4 threads.
//   mm_attn_bwd_dkdv_<HDP> dk, dv (overwritten): grid (ceil(T/32), KVH, B), block 128: 32 keys ×
//                         4 threads; each block
//                         loops over the query heads of its kv head and the query tiles at or after
//                         its keys, so dk/dv have one writer and need no atomics (deterministic).
//   mm_attn_probs         the tracing path: scores, probs [B, H, T, pos0+T] (masked score -inf,
//                         probability 0). grid (T, H, B), block 128: one block per query row.
// The backward kernels assume pos0 = 0 and S = T (training has no cache).
#include "common.cuh"

template <int HDP>
struct QCfg {  // the query-side kernels (fwd, dq)
  static const int TP = 4;                   // threads per query row
  static const int BQ = 32;                  // query rows per block
  static const int NT = BQ * TP;             // threads per block (128)
  static const int BK = 32;                  // keys per shared tile
  static const int NC = HDP / (4 * TP);      // float4 chunks per thread
  static const int DPT = 4 * NC;             // dims per thread
};

template <int HDP>
struct KCfg {  // the key-side kernel (dk, dv)
  static const int TP = 4;                   // threads per key row
  static const int KR = 128 / TP;            // key rows per block
  static const int NT = 128;
  static const int BQ = 32;                  // queries per shared tile
  static const int NC = HDP / (4 * TP);
  static const int DPT = 4 * NC;
};

// dim of chunk c, element e for part p with tp threads per row.
__device__ __forceinline__ int own_dim(int tp, int p, int c, int e) { return 4 * tp * c + 4 * p + e; }

// Loads the owned dims of row src (hd valid dims; NULL → zeros) into r.
template <int NC, int TP>
__device__ __forceinline__ void load_own(float* r, const float* src, int hd, int p) {
#pragma unroll
  for (int c = 0; c < NC; c++)
#pragma unroll
    for (int e = 0; e < 4; e++) {
      int d = own_dim(TP, p, c, e);
      r[4 * c + e] = (src && d < hd) ? src[d] : 0.f;
    }
}

// Stores the owned dims of r to dst (dims < hd).
template <int NC, int TP>
__device__ __forceinline__ void store_own(float* dst, const float* r, int hd, int p) {
#pragma unroll
  for (int c = 0; c < NC; c++)
#pragma unroll
    for (int e = 0; e < 4; e++) {
      int d = own_dim(TP, p, c, e);
      if (d < hd) dst[d] = r[4 * c + e];
    }
}

// Σ over the owned dims of r · row (a shared-memory row of HDP floats).
template <int NC, int TP>
__device__ __forceinline__ float dot_own(const float* r, const float* row, int p) {
  float acc = 0.f;
#pragma unroll
  for (int c = 0; c < NC; c++) {
    float4 v = *reinterpret_cast<const float4*>(row + own_dim(TP, p, c, 0));
    acc += r[4 * c] * v.x + r[4 * c + 1] * v.y + r[4 * c + 2] * v.z + r[4 * c + 3] * v.w;
  }
  return acc;
}

// acc[owned] += a · row[owned]
template <int NC, int TP>
__device__ __forceinline__ void axpy_own(float* acc, float a, const float* row, int p) {
#pragma unroll
  for (int c = 0; c < NC; c++) {
    float4 v = *reinterpret_cast<const float4*>(row + own_dim(TP, p, c, 0));
    acc[4 * c] += a * v.x;
    acc[4 * c + 1] += a * v.y;
    acc[4 * c + 2] += a * v.z;
    acc[4 * c + 3] += a * v.w;
  }
}

// Cooperative load of rows [r0, r0+nrows) of a [*, stride]-strided tensor
// (row i at base + i·stride, hd valid dims) into tile [nrows][HDP]; rows ≥
// limit and dims ≥ hd are zero.
template <int HDP, int NT>
__device__ __forceinline__ void load_tile(float (*tile)[HDP], const float* base, size_t stride, int r0, int nrows,
                                          int limit, int hd) {
  for (int idx = threadIdx.x; idx < nrows * HDP; idx += NT) {
    int i = idx / HDP, d = idx % HDP, r = r0 + i;
    tile[i][d] = (r < limit && d < hd) ? base[(size_t)r * stride + d] : 0.f;
  }
}

template <int HDP>
__device__ void attn_fwd(float* out, float* lse, const float* q, const float* k, const float* v, const int* docs,
                         int T, int H, int KVH, int hd, int S, int pos0, float scale) {
  typedef QCfg<HDP> C;
  __shared__ __align__(16) float Ks[C::BK][HDP];
  __shared__ __align__(16) float Vs[C::BK][HDP];
  __shared__ int Kdoc[C::BK];
  const int nqt = (T + C::BQ - 1) / C::BQ;
  const int qt = nqt - 1 - (int)blockIdx.x;  // the longest tiles first
  const int h = blockIdx.y, b = blockIdx.z, g = h / (H / KVH);
  const int p = threadIdx.x % C::TP, t = qt * C::BQ + (int)threadIdx.x / C::TP;
  const bool valid = t < T;
  const size_t qrow = ((size_t)b * T + t) * H + h;  // row of q/out/lse
  float qr[C::DPT], o[C::DPT];
  load_own<C::NC, C::TP>(qr, valid ? q + qrow * hd : nullptr, hd, p);
  for (int i = 0; i < C::DPT; i++) o[i] = 0.f;
  const int qdoc = (docs && valid) ? docs[(size_t)b * T + t] : 0;
  float m = -INFINITY, l = 0.f;
  const int nkeys = pos0 + imin(T, (qt + 1) * C::BQ);  // keys seen by the tile's last query
  const float* kb = k + ((size_t)b * S * KVH + g) * hd;  // key row j at kb + j·KVH·hd
  const float* vb = v + ((size_t)b * S * KVH + g) * hd;
  for (int j0 = 0; j0 < nkeys; j0 += C::BK) {
    __syncthreads();  // the previous tile is consumed
    load_tile<HDP, C::NT>(Ks, kb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    load_tile<HDP, C::NT>(Vs, vb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    if ((int)threadIdx.x < C::BK) {
      int j = j0 + threadIdx.x;
      Kdoc[threadIdx.x] = (docs && j < T) ? docs[(size_t)b * T + j] : 0;
    }
    __syncthreads();
    float s[C::BK];
    float tmax = -INFINITY;
#pragma unroll
    for (int jj = 0; jj < C::BK; jj++) {
      float d = group_sum<C::TP>(dot_own<C::NC, C::TP>(qr, Ks[jj], p));
      int j = j0 + jj;
      bool vis = valid && j <= pos0 + t && (!docs || Kdoc[jj] == qdoc);
      s[jj] = vis ? d * scale : -INFINITY;
      tmax = fmaxf(tmax, s[jj]);
    }
    if (tmax == -INFINITY) continue;  // nothing visible in this tile
    float mnew = fmaxf(m, tmax);
    float corr = expf(m - mnew);  // 0 on the first visible tile
    l *= corr;
#pragma unroll
    for (int i = 0; i < C::DPT; i++) o[i] *= corr;
#pragma unroll
    for (int jj = 0; jj < C::BK; jj++) {
      float pj = expf(s[jj] - mnew);
      if (pj != 0.f) {
        l += pj;
        axpy_own<C::NC, C::TP>(o, pj, Vs[jj], p);
      }
    }
    m = mnew;
  }
  if (valid) {
    float inv = 1.f / l;
    for (int i = 0; i < C::DPT; i++) o[i] *= inv;
    store_own<C::NC, C::TP>(out + qrow * hd, o, hd, p);
    if (lse && p == 0) lse[qrow] = m + logf(l);
  }
}

template <int HDP>
__device__ void attn_bwd_dq(float* dq, const float* dout, const float* lse, const float* dvec, const float* q,
                            const float* k, const float* v, const int* docs, int T, int H, int KVH, int hd,
                            float scale) {
  typedef QCfg<HDP> C;
  __shared__ __align__(16) float Ks[C::BK][HDP];
  __shared__ __align__(16) float Vs[C::BK][HDP];
  __shared__ int Kdoc[C::BK];
  const int nqt = (T + C::BQ - 1) / C::BQ;
  const int qt = nqt - 1 - (int)blockIdx.x;
  const int h = blockIdx.y, b = blockIdx.z, g = h / (H / KVH);
  const int p = threadIdx.x % C::TP, t = qt * C::BQ + (int)threadIdx.x / C::TP;
  const bool valid = t < T;
  const size_t qrow = ((size_t)b * T + t) * H + h;
  float qr[C::DPT], dor[C::DPT], acc[C::DPT];
  load_own<C::NC, C::TP>(qr, valid ? q + qrow * hd : nullptr, hd, p);
  load_own<C::NC, C::TP>(dor, valid ? dout + qrow * hd : nullptr, hd, p);
  for (int i = 0; i < C::DPT; i++) acc[i] = 0.f;
  const float L = valid ? lse[qrow] : 0.f, Dt = valid ? dvec[qrow] : 0.f;
  const int qdoc = (docs && valid) ? docs[(size_t)b * T + t] : 0;
  const int nkeys = imin(T, (qt + 1) * C::BQ);
  const float* kb = k + ((size_t)b * T * KVH + g) * hd;
  const float* vb = v + ((size_t)b * T * KVH + g) * hd;
  for (int j0 = 0; j0 < nkeys; j0 += C::BK) {
    __syncthreads();
    load_tile<HDP, C::NT>(Ks, kb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    load_tile<HDP, C::NT>(Vs, vb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    if ((int)threadIdx.x < C::BK) {
      int j = j0 + threadIdx.x;
      Kdoc[threadIdx.x] = (docs && j < T) ? docs[(size_t)b * T + j] : 0;
    }
    __syncthreads();
#pragma unroll
    for (int jj = 0; jj < C::BK; jj++) {
      float sd = group_sum<C::TP>(dot_own<C::NC, C::TP>(qr, Ks[jj], p));
      float dp = group_sum<C::TP>(dot_own<C::NC, C::TP>(dor, Vs[jj], p));
      int j = j0 + jj;
      bool vis = valid && j <= t && (!docs || Kdoc[jj] == qdoc);
      float pj = vis ? expf(sd * scale - L) : 0.f;
      if (pj != 0.f) axpy_own<C::NC, C::TP>(acc, pj * (dp - Dt) * scale, Ks[jj], p);
    }
  }
  if (valid) store_own<C::NC, C::TP>(dq + qrow * hd, acc, hd, p);
}

template <int HDP>
__device__ void attn_bwd_dkdv(float* dk, float* dv, const float* dout, const float* lse, const float* dvec,
                              const float* q, const float* k, const float* v, const int* docs, int T, int H, int KVH,
                              int hd, float scale) {
  typedef KCfg<HDP> C;
  __shared__ __align__(16) float Qs[C::BQ][HDP];
  __shared__ __align__(16) float Os[C::BQ][HDP];  // dout rows
  __shared__ float Ls[C::BQ], Ds[C::BQ];
  __shared__ int Qdoc[C::BQ];
  const int kt = blockIdx.x, g = blockIdx.y, b = blockIdx.z, group = H / KVH;
  const int p = threadIdx.x % C::TP, j = kt * C::KR + (int)threadIdx.x / C::TP;
  const bool valid = j < T;
  const size_t krow = ((size_t)b * T + j) * KVH + g;  // row of k/v/dk/dv
  float kr[C::DPT], vr[C::DPT], dkr[C::DPT], dvr[C::DPT];
  load_own<C::NC, C::TP>(kr, valid ? k + krow * hd : nullptr, hd, p);
  load_own<C::NC, C::TP>(vr, valid ? v + krow * hd : nullptr, hd, p);
  for (int i = 0; i < C::DPT; i++) dkr[i] = dvr[i] = 0.f;
  const int kdoc = (docs && valid) ? docs[(size_t)b * T + j] : 0;
  const int qstart = (kt * C::KR / C::BQ) * C::BQ;  // the first query tile that sees a key of this block
  for (int h = g * group; h < (g + 1) * group; h++) {
    const float* qb = q + ((size_t)b * T * H + h) * hd;  // query row t at qb + t·H·hd
    const float* ob = dout + ((size_t)b * T * H + h) * hd;
    for (int q0 = qstart; q0 < T; q0 += C::BQ) {
      __syncthreads();
      load_tile<HDP, C::NT>(Qs, qb, (size_t)H * hd, q0, C::BQ, T, hd);
      load_tile<HDP, C::NT>(Os, ob, (size_t)H * hd, q0, C::BQ, T, hd);
      if ((int)threadIdx.x < C::BQ) {
        int t = q0 + threadIdx.x;
        size_t row = ((size_t)b * T + t) * H + h;
        Ls[threadIdx.x] = t < T ? lse[row] : 0.f;
        Ds[threadIdx.x] = t < T ? dvec[row] : 0.f;
        Qdoc[threadIdx.x] = (docs && t < T) ? docs[(size_t)b * T + t] : 0;
      }
      __syncthreads();
      for (int i = 0; i < C::BQ; i++) {
        int t = q0 + i;
        float sd = group_sum<C::TP>(dot_own<C::NC, C::TP>(kr, Qs[i], p));
        float dp = group_sum<C::TP>(dot_own<C::NC, C::TP>(vr, Os[i], p));
        bool vis = valid && t < T && j <= t && (!docs || Qdoc[i] == kdoc);
        float pj = vis ? expf(sd * scale - Ls[i]) : 0.f;
        if (pj != 0.f) {
          axpy_own<C::NC, C::TP>(dvr, pj, Os[i], p);
          axpy_own<C::NC, C::TP>(dkr, pj * (dp - Ds[i]) * scale, Qs[i], p);
        }
      }
    }
  }
  if (valid) {
    store_own<C::NC, C::TP>(dk + krow * hd, dkr, hd, p);
    store_own<C::NC, C::TP>(dv + krow * hd, dvr, hd, p);
  }
}

// dvec [rows] = Σ_d dout[row, d]·out[row, d]; dout, out [rows, hd]; rows = B·T·H.
MM_KERNEL void __launch_bounds__(256) mm_attn_bwd_pre(float* dvec, const float* dout, const float* out, int rows,
                                                      int hd) {
  int r = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
  int lane = threadIdx.x & 31;
  if (r >= rows) return;
  float acc = 0.f;
  for (int d = lane; d < hd; d += 32) acc += dout[(size_t)r * hd + d] * out[(size_t)r * hd + d];
  acc = warp_sum(acc);
  if (lane == 0) dvec[r] = acc;
}

#define ATTN_KERNELS(HDP)                                                                                            \
  MM_KERNEL void __launch_bounds__(128)                                                                              \
      mm_attn_fwd_##HDP(float* out, float* lse, const float* q, const float* k, const float* v, const int* docs,      \
                        int T, int H, int KVH, int hd, int S, int pos0, float scale) {                               \
    attn_fwd<HDP>(out, lse, q, k, v, docs, T, H, KVH, hd, S, pos0, scale);                                           \
  }                                                                                                                  \
  MM_KERNEL void __launch_bounds__(128)                                                                              \
      mm_attn_bwd_dq_##HDP(float* dq, const float* dout, const float* lse, const float* dvec, const float* q,        \
                           const float* k, const float* v, const int* docs, int T, int H, int KVH, int hd,           \
                           float scale) {                                                                            \
    attn_bwd_dq<HDP>(dq, dout, lse, dvec, q, k, v, docs, T, H, KVH, hd, scale);                                      \
  }                                                                                                                  \
  MM_KERNEL void __launch_bounds__(128)                                                                              \
      mm_attn_bwd_dkdv_##HDP(float* dk, float* dv, const float* dout, const float* lse, const float* dvec,           \
                             const float* q, const float* k, const float* v, const int* docs, int T, int H, int KVH, \
                             int hd, float scale) {                                                                  \
    attn_bwd_dkdv<HDP>(dk, dv, dout, lse, dvec, q, k, v, docs, T, H, KVH, hd, scale);                                \
  }

ATTN_KERNELS(16)
ATTN_KERNELS(32)
ATTN_KERNELS(64)
ATTN_KERNELS(80)
ATTN_KERNELS(96)
ATTN_KERNELS(128)

// The tracing path: scores, probs [B, H, T, W] with W = pos0+T; the CPU
// engine's values (masked scores -inf, their probabilities 0).
MM_KERNEL void __launch_bounds__(128) mm_attn_probs(float* scores, float* probs, const float* q, const float* k,
                                                    const int* docs, int T, int H, int KVH, int hd, int S, int pos0,
                                                    float scale) {
  __shared__ float scratch[32];
  const int t = blockIdx.x, h = blockIdx.y, b = blockIdx.z, g = h / (H / KVH);
  const int W = pos0 + T, n = pos0 + t + 1;
  const float* qv = q + (((size_t)b * T + t) * H + h) * hd;
  const size_t row = (((size_t)b * H + h) * T + t) * W;
  const int qdoc = docs ? docs[(size_t)b * T + t] : 0;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < W; j += blockDim.x) {
    float s = -INFINITY;
    if (j < n && (!docs || docs[(size_t)b * T + j] == qdoc)) {
      const float* kv = k + (((size_t)b * S + j) * KVH + g) * hd;
      float acc = 0.f;
      for (int d = 0; d < hd; d++) acc += qv[d] * kv[d];
      s = acc * scale;
    }
    scores[row + j] = s;
    m = fmaxf(m, s);
  }
  m = block_max(m, scratch);  // synchronises: every score is written
  float sum = 0.f;
  for (int j = threadIdx.x; j < W; j += blockDim.x) sum += expf(scores[row + j] - m);
  sum = block_sum(sum, scratch);
  float inv = 1.f / sum;
  for (int j = threadIdx.x; j < W; j += blockDim.x) probs[row + j] = expf(scores[row + j] - m) * inv;
}
