// attention_tc.cu: causal grouped-query attention on tensor cores (bf16
// operands, fp32 accumulation and softmax) — the engine's attention when its
// matrix products run in bf16, for calls without a KV cache (training,
// prefill). Same shapes and results as attention.cu (see there), within bf16
// rounding; out/lse/dvec/dq/dk/dv [B, T, H or KVH, hd] fp32.
//
// Flash style, as in attention.cu: tiles of 32 keys (or queries) are staged in
// shared memory as bf16, the score tiles S = Q·Kᵀ and dP = dO·Vᵀ and the
// products P·V, dS·K, Pᵀ·dO, dSᵀ·Q run as wmma 16×16×16 tiles; the softmax
// (online in the forward pass) runs on the CUDA cores, two lanes per row. Each
// warp owns 16 rows; the output accumulator of the forward pass lives in
// shared memory (it is rescaled row by row), the gradient accumulators in
// wmma fragments. Head dims are padded to HDP (a multiple of 16) with zeros.
//
//   mm_attn_tc_fwd_<HDP>     grid (ceil(T/BQ), H, B), block 32·NW; NW = 4 warps (BQ = 64 queries)
//                            for HDP ≤ 64, else 2 (BQ = 32).
//   mm_attn_tc_dq_<HDP>      same grid and block; dq overwritten.
//   mm_attn_tc_dkdv_<HDP>    grid (ceil(T/32), KVH, B), block 64 (2 warps × 16 keys); loops over
//                            the query heads of its kv head and the query tiles at or after its keys;
//                            dk, dv overwritten, one writer each (no atomics).
// The lse and dvec inputs of the backward kernels come from mm_attn_tc_fwd and
// mm_attn_bwd_pre (attention.cu). pos0 = 0 and S = T in the backward kernels.
#include "common.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 hbf;

template <int HDP>
struct TC {
  static const int NW = HDP <= 64 ? 4 : 2;  // warps of the query-side kernels
  static const int BQ = 16 * NW;            // query rows per block
  static const int BK = 32;                 // keys per tile (queries per tile in dkdv)
  static const int LD = HDP + 8;            // bf16 row stride of Q/K/V/dO tiles
  static const int LS = BK + 4;             // fp32 row stride of score tiles
  static const int LP = BK + 8;             // bf16 row stride of probability tiles
  static const int LO = HDP + 4;            // fp32 row stride of the output accumulator
  static const int ND = HDP / 16;           // 16-wide blocks of head dims
};

// tile_bf16 copies rows [r0, r0+n) of a row-strided fp32 tensor (row r at
// base + r·stride, hd valid dims) into tile [n][ld] as bf16; rows ≥ limit
// and dims ≥ hd become zero.
template <int HDP>
__device__ __forceinline__ void tile_bf16(hbf* tile, int ld, const float* base, size_t stride, int r0, int n, int limit,
                                          int hd) {
  for (int idx = threadIdx.x; idx < n * HDP; idx += blockDim.x) {
    int i = idx / HDP, d = idx % HDP, r = r0 + i;
    float v = (r < limit && d < hd) ? base[(size_t)r * stride + d] : 0.f;
    tile[i * ld + d] = __ushort_as_bfloat16(f2bf(v));
  }
}

__device__ __forceinline__ hbf to_bf(float x) { return __ushort_as_bfloat16(f2bf(x)); }

template <int HDP>
__device__ void tc_fwd(float* out, float* lse, const float* q, const float* k, const float* v, const int* docs, int T,
                       int H, int KVH, int hd, int S, int pos0, float scale) {
  typedef TC<HDP> C;
  __shared__ __align__(32) hbf KV[2 * C::BK * C::LD];  // the K and V tiles (the Q tile first)
  __shared__ __align__(32) float Ss[C::NW][16 * C::LS];
  __shared__ __align__(32) hbf Ps[C::NW][16 * C::LP];
  __shared__ __align__(32) float Os[C::NW][16 * C::LO];
  __shared__ int Kdoc[C::BK];
  hbf* Ks = KV;
  hbf* Vs = KV + C::BK * C::LD;
  const int nqt = (T + C::BQ - 1) / C::BQ, qt = nqt - 1 - (int)blockIdx.x;  // the longest tiles first
  const int h = blockIdx.y, b = blockIdx.z, g = h / (H / KVH);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, row = lane >> 1, half = lane & 1;
  const int q0 = qt * C::BQ, w0 = q0 + warp * 16, t = w0 + row;
  const bool valid = t < T;
  const size_t qrow = ((size_t)b * T + t) * H + h;

  tile_bf16<HDP>(KV, C::LD, q + ((size_t)b * T * H + h) * hd, (size_t)H * hd, q0, C::BQ, T, hd);
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, hbf, wmma::row_major> qf[C::ND];
#pragma unroll
  for (int kd = 0; kd < C::ND; kd++) wmma::load_matrix_sync(qf[kd], KV + warp * 16 * C::LD + kd * 16, C::LD);
  float* Sw = Ss[warp];
  hbf* Pw = Ps[warp];
  float* Ow = Os[warp];
  for (int i = lane; i < 16 * C::LO; i += 32) Ow[i] = 0.f;
  const int qdoc = (docs && valid) ? docs[(size_t)b * T + t] : 0;
  float m = -INFINITY, l = 0.f;
  const int nkeys = pos0 + imin(T, q0 + C::BQ);
  const float* kb = k + ((size_t)b * S * KVH + g) * hd;
  const float* vb = v + ((size_t)b * S * KVH + g) * hd;
  for (int j0 = 0; j0 < nkeys; j0 += C::BK) {
    __syncthreads();  // the Q tile / the previous K, V tiles are consumed
    tile_bf16<HDP>(Ks, C::LD, kb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    tile_bf16<HDP>(Vs, C::LD, vb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    if ((int)threadIdx.x < C::BK) {
      int j = j0 + threadIdx.x;
      Kdoc[threadIdx.x] = (docs && j < T) ? docs[(size_t)b * T + j] : 0;
    }
    __syncthreads();
    if (w0 >= T || j0 > pos0 + w0 + 15) continue;  // no row of this warp sees these keys
    // S = Q·Kᵀ for the warp's 16 rows × 32 keys.
#pragma unroll
    for (int c = 0; c < C::BK / 16; c++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
      wmma::fill_fragment(sf, 0.f);
#pragma unroll
      for (int kd = 0; kd < C::ND; kd++) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, hbf, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, Ks + c * 16 * C::LD + kd * 16, C::LD);
        wmma::mma_sync(sf, qf[kd], kf, sf);
      }
      wmma::store_matrix_sync(Sw + c * 16, sf, C::LS, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax: the lane pair of a row takes 16 keys each.
    float s[16], tmax = -INFINITY;
#pragma unroll
    for (int c = 0; c < 16; c++) {
      int jj = half * 16 + c, j = j0 + jj;
      bool vis = valid && j <= pos0 + t && (!docs || Kdoc[jj] == qdoc);
      s[c] = vis ? Sw[row * C::LS + jj] * scale : -INFINITY;
      tmax = fmaxf(tmax, s[c]);
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
    const float mnew = fmaxf(m, tmax);
    const bool none = mnew == -INFINITY;  // nothing visible yet
    const float corr = none ? 1.f : expf(m - mnew);
    float psum = 0.f;
#pragma unroll
    for (int c = 0; c < 16; c++) {
      hbf pb = to_bf(none ? 0.f : expf(s[c] - mnew));
      Pw[row * C::LP + half * 16 + c] = pb;
      psum += __uint_as_float(((unsigned)__bfloat16_as_ushort(pb)) << 16);  // the rounded p that P·V uses
    }
    psum += __shfl_xor_sync(0xffffffffu, psum, 1);
    l = l * corr + psum;
    m = mnew;
    for (int d = half; d < HDP; d += 2) Ow[row * C::LO + d] *= corr;
    __syncwarp();
    // O += P·V
#pragma unroll
    for (int e = 0; e < C::ND; e++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> of;
      wmma::load_matrix_sync(of, Ow + e * 16, C::LO, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < C::BK / 16; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, hbf, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, hbf, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, Pw + kk * 16, C::LP);
        wmma::load_matrix_sync(vf, Vs + kk * 16 * C::LD + e * 16, C::LD);
        wmma::mma_sync(of, pf, vf, of);
      }
      wmma::store_matrix_sync(Ow + e * 16, of, C::LO, wmma::mem_row_major);
    }
    __syncwarp();
  }
  if (valid) {
    float inv = 1.f / l;
    for (int d = half; d < hd; d += 2) out[qrow * hd + d] = Ow[row * C::LO + d] * inv;
    if (lse && half == 0) lse[qrow] = m + logf(l);
  }
}

template <int HDP>
__device__ void tc_dq(float* dq, const float* dout, const float* lse, const float* dvec, const float* q, const float* k,
                      const float* v, const int* docs, int T, int H, int KVH, int hd, float scale) {
  typedef TC<HDP> C;
  __shared__ __align__(32) hbf KV[2 * C::BK * C::LD];
  __shared__ __align__(32) float Ss[C::NW][16 * C::LS];  // scores, then dS as bf16 in place
  __shared__ __align__(32) float Ds[C::NW][16 * C::LS];  // dP, then the output staging
  __shared__ int Kdoc[C::BK];
  hbf* Ks = KV;
  hbf* Vs = KV + C::BK * C::LD;
  const int nqt = (T + C::BQ - 1) / C::BQ, qt = nqt - 1 - (int)blockIdx.x;
  const int h = blockIdx.y, b = blockIdx.z, g = h / (H / KVH);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, row = lane >> 1, half = lane & 1;
  const int q0 = qt * C::BQ, w0 = q0 + warp * 16, t = w0 + row;
  const bool valid = t < T;
  const size_t qrow = ((size_t)b * T + t) * H + h;

  wmma::fragment<wmma::matrix_a, 16, 16, 16, hbf, wmma::row_major> qf[C::ND], of[C::ND];
  tile_bf16<HDP>(KV, C::LD, q + ((size_t)b * T * H + h) * hd, (size_t)H * hd, q0, C::BQ, T, hd);
  __syncthreads();
#pragma unroll
  for (int kd = 0; kd < C::ND; kd++) wmma::load_matrix_sync(qf[kd], KV + warp * 16 * C::LD + kd * 16, C::LD);
  __syncthreads();
  tile_bf16<HDP>(KV, C::LD, dout + ((size_t)b * T * H + h) * hd, (size_t)H * hd, q0, C::BQ, T, hd);
  __syncthreads();
#pragma unroll
  for (int kd = 0; kd < C::ND; kd++) wmma::load_matrix_sync(of[kd], KV + warp * 16 * C::LD + kd * 16, C::LD);
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[C::ND];
#pragma unroll
  for (int e = 0; e < C::ND; e++) wmma::fill_fragment(acc[e], 0.f);
  float* Sw = Ss[warp];
  hbf* dSw = reinterpret_cast<hbf*>(Ss[warp]);
  float* Dw = Ds[warp];
  const float L = valid ? lse[qrow] : 0.f, Dt = valid ? dvec[qrow] : 0.f;
  const int qdoc = (docs && valid) ? docs[(size_t)b * T + t] : 0;
  const int nkeys = imin(T, q0 + C::BQ);
  const float* kb = k + ((size_t)b * T * KVH + g) * hd;
  const float* vb = v + ((size_t)b * T * KVH + g) * hd;
  for (int j0 = 0; j0 < nkeys; j0 += C::BK) {
    __syncthreads();
    tile_bf16<HDP>(Ks, C::LD, kb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    tile_bf16<HDP>(Vs, C::LD, vb, (size_t)KVH * hd, j0, C::BK, nkeys, hd);
    if ((int)threadIdx.x < C::BK) {
      int j = j0 + threadIdx.x;
      Kdoc[threadIdx.x] = (docs && j < T) ? docs[(size_t)b * T + j] : 0;
    }
    __syncthreads();
    if (w0 >= T || j0 > w0 + 15) continue;
    // S = Q·Kᵀ and dP = dO·Vᵀ
#pragma unroll
    for (int c = 0; c < C::BK / 16; c++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf, pf;
      wmma::fill_fragment(sf, 0.f);
      wmma::fill_fragment(pf, 0.f);
#pragma unroll
      for (int kd = 0; kd < C::ND; kd++) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, hbf, wmma::col_major> kf, vf;
        wmma::load_matrix_sync(kf, Ks + c * 16 * C::LD + kd * 16, C::LD);
        wmma::load_matrix_sync(vf, Vs + c * 16 * C::LD + kd * 16, C::LD);
        wmma::mma_sync(sf, qf[kd], kf, sf);
        wmma::mma_sync(pf, of[kd], vf, pf);
      }
      wmma::store_matrix_sync(Sw + c * 16, sf, C::LS, wmma::mem_row_major);
      wmma::store_matrix_sync(Dw + c * 16, pf, C::LS, wmma::mem_row_major);
    }
    __syncwarp();
    // dS = P ⊙ (dP − D)·scale, P = exp(S·scale − lse)
    float ds[16];
#pragma unroll
    for (int c = 0; c < 16; c++) {
      int jj = half * 16 + c, j = j0 + jj;
      bool vis = valid && j <= t && (!docs || Kdoc[jj] == qdoc);
      float p = vis ? expf(Sw[row * C::LS + jj] * scale - L) : 0.f;
      ds[c] = p * (Dw[row * C::LS + jj] - Dt) * scale;
    }
    __syncwarp();  // every lane has read its scores before they are overwritten
#pragma unroll
    for (int c = 0; c < 16; c++) dSw[row * C::LP + half * 16 + c] = to_bf(ds[c]);
    __syncwarp();
    // dQ += dS·K
#pragma unroll
    for (int kk = 0; kk < C::BK / 16; kk++) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, hbf, wmma::row_major> af;
      wmma::load_matrix_sync(af, dSw + kk * 16, C::LP);
#pragma unroll
      for (int e = 0; e < C::ND; e++) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, hbf, wmma::row_major> kf;
        wmma::load_matrix_sync(kf, Ks + kk * 16 * C::LD + e * 16, C::LD);
        wmma::mma_sync(acc[e], af, kf, acc[e]);
      }
    }
  }
  // Write dq through the warp's staging tile, 16 dims at a time.
#pragma unroll
  for (int e = 0; e < C::ND; e++) {
    __syncwarp();
    wmma::store_matrix_sync(Dw, acc[e], C::LS, wmma::mem_row_major);
    __syncwarp();
    for (int c = 0; c < 8; c++) {
      int d = e * 16 + half * 8 + c;
      if (valid && d < hd) dq[qrow * hd + d] = Dw[row * C::LS + half * 8 + c];
    }
  }
}

template <int HDP>
__device__ void tc_dkdv(float* dk, float* dv, const float* dout, const float* lse, const float* dvec, const float* q,
                        const float* k, const float* v, const int* docs, int T, int H, int KVH, int hd, float scale) {
  typedef TC<HDP> C;
  const int KR = 32, BQ = 32;  // keys per block (2 warps × 16), queries per tile
  __shared__ __align__(32) hbf KVs[2 * KR * C::LD];   // this block's K rows, then V rows
  __shared__ __align__(32) hbf QO[2 * BQ * C::LD];    // the query tile's Q rows, then dO rows
  __shared__ __align__(32) float Ss[2][16 * C::LS];  // Sᵀ (keys × queries), then dSᵀ as bf16 in place
  __shared__ __align__(32) float Ds[2][16 * C::LS];  // dPᵀ, then the output staging
  __shared__ __align__(32) hbf Ps[2][16 * C::LP];    // Pᵀ
  __shared__ float Lq[BQ], Dq[BQ];
  __shared__ int Qdoc[BQ];
  const int kt = blockIdx.x, g = blockIdx.y, b = blockIdx.z, group = H / KVH;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, row = lane >> 1, half = lane & 1;
  const int k0 = kt * KR, w0 = k0 + warp * 16, j = w0 + row;
  const bool valid = j < T;
  const size_t krow = ((size_t)b * T + j) * KVH + g;
  tile_bf16<HDP>(KVs, C::LD, k + ((size_t)b * T * KVH + g) * hd, (size_t)KVH * hd, k0, KR, T, hd);
  tile_bf16<HDP>(KVs + KR * C::LD, C::LD, v + ((size_t)b * T * KVH + g) * hd, (size_t)KVH * hd, k0, KR, T, hd);
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> dka[C::ND], dva[C::ND];
#pragma unroll
  for (int e = 0; e < C::ND; e++) {
    wmma::fill_fragment(dka[e], 0.f);
    wmma::fill_fragment(dva[e], 0.f);
  }
  float* Sw = Ss[warp];
  hbf* dSw = reinterpret_cast<hbf*>(Ss[warp]);
  float* Dw = Ds[warp];
  hbf* Pw = Ps[warp];
  const hbf* Kw = KVs + warp * 16 * C::LD;
  const hbf* Vw = KVs + (KR + warp * 16) * C::LD;
  const hbf* Qt = QO;
  const hbf* Ot = QO + BQ * C::LD;
  const int kdoc = (docs && valid) ? docs[(size_t)b * T + j] : 0;
  for (int h = g * group; h < (g + 1) * group; h++) {
    for (int q0 = (k0 / BQ) * BQ; q0 < T; q0 += BQ) {
      __syncthreads();  // KVs are loaded / the previous query tile is consumed
      tile_bf16<HDP>(QO, C::LD, q + ((size_t)b * T * H + h) * hd, (size_t)H * hd, q0, BQ, T, hd);
      tile_bf16<HDP>(QO + BQ * C::LD, C::LD, dout + ((size_t)b * T * H + h) * hd, (size_t)H * hd, q0, BQ, T, hd);
      if ((int)threadIdx.x < BQ) {
        int t = q0 + threadIdx.x;
        size_t r = ((size_t)b * T + t) * H + h;
        Lq[threadIdx.x] = t < T ? lse[r] : 0.f;
        Dq[threadIdx.x] = t < T ? dvec[r] : 0.f;
        Qdoc[threadIdx.x] = (docs && t < T) ? docs[(size_t)b * T + t] : 0;
      }
      __syncthreads();
      if (w0 >= T || q0 + BQ - 1 < w0) continue;  // no query of the tile sees this warp's keys
      // Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ for the warp's 16 keys × 32 queries.
#pragma unroll
      for (int c = 0; c < BQ / 16; c++) {
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf, pf;
        wmma::fill_fragment(sf, 0.f);
        wmma::fill_fragment(pf, 0.f);
#pragma unroll
        for (int kd = 0; kd < C::ND; kd++) {
          wmma::fragment<wmma::matrix_a, 16, 16, 16, hbf, wmma::row_major> ka, va;
          wmma::fragment<wmma::matrix_b, 16, 16, 16, hbf, wmma::col_major> qb, ob;
          wmma::load_matrix_sync(ka, Kw + kd * 16, C::LD);
          wmma::load_matrix_sync(va, Vw + kd * 16, C::LD);
          wmma::load_matrix_sync(qb, Qt + c * 16 * C::LD + kd * 16, C::LD);
          wmma::load_matrix_sync(ob, Ot + c * 16 * C::LD + kd * 16, C::LD);
          wmma::mma_sync(sf, ka, qb, sf);
          wmma::mma_sync(pf, va, ob, pf);
        }
        wmma::store_matrix_sync(Sw + c * 16, sf, C::LS, wmma::mem_row_major);
        wmma::store_matrix_sync(Dw + c * 16, pf, C::LS, wmma::mem_row_major);
      }
      __syncwarp();
      float ds[16];
#pragma unroll
      for (int c = 0; c < 16; c++) {
        int i = half * 16 + c, t = q0 + i;
        bool vis = valid && t < T && j <= t && (!docs || Qdoc[i] == kdoc);
        float p = vis ? expf(Sw[row * C::LS + i] * scale - Lq[i]) : 0.f;
        Pw[row * C::LP + i] = to_bf(p);
        ds[c] = p * (Dw[row * C::LS + i] - Dq[i]) * scale;
      }
      __syncwarp();
#pragma unroll
      for (int c = 0; c < 16; c++) dSw[row * C::LP + half * 16 + c] = to_bf(ds[c]);
      __syncwarp();
      // dV += Pᵀ·dO, dK += dSᵀ·Q (this warp's rows are keys already)
#pragma unroll
      for (int kk = 0; kk < BQ / 16; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, hbf, wmma::row_major> pa, sa;
        wmma::load_matrix_sync(pa, Pw + kk * 16, C::LP);
        wmma::load_matrix_sync(sa, dSw + kk * 16, C::LP);
#pragma unroll
        for (int e = 0; e < C::ND; e++) {
          wmma::fragment<wmma::matrix_b, 16, 16, 16, hbf, wmma::row_major> ob, qb;
          wmma::load_matrix_sync(ob, Ot + kk * 16 * C::LD + e * 16, C::LD);
          wmma::load_matrix_sync(qb, Qt + kk * 16 * C::LD + e * 16, C::LD);
          wmma::mma_sync(dva[e], pa, ob, dva[e]);
          wmma::mma_sync(dka[e], sa, qb, dka[e]);
        }
      }
    }
  }
#pragma unroll
  for (int e = 0; e < C::ND; e++) {
    __syncwarp();
    wmma::store_matrix_sync(Dw, dka[e], C::LS, wmma::mem_row_major);
    __syncwarp();
    for (int c = 0; c < 8; c++) {
      int d = e * 16 + half * 8 + c;
      if (valid && d < hd) dk[krow * hd + d] = Dw[row * C::LS + half * 8 + c];
    }
    __syncwarp();
    wmma::store_matrix_sync(Dw, dva[e], C::LS, wmma::mem_row_major);
    __syncwarp();
    for (int c = 0; c < 8; c++) {
      int d = e * 16 + half * 8 + c;
      if (valid && d < hd) dv[krow * hd + d] = Dw[row * C::LS + half * 8 + c];
    }
  }
}

#define TC_KERNELS(HDP)                                                                                              \
  MM_KERNEL void __launch_bounds__(32 * TC<HDP>::NW)                                                                 \
      mm_attn_tc_fwd_##HDP(float* out, float* lse, const float* q, const float* k, const float* v, const int* docs,  \
                           int T, int H, int KVH, int hd, int S, int pos0, float scale) {                            \
    tc_fwd<HDP>(out, lse, q, k, v, docs, T, H, KVH, hd, S, pos0, scale);                                             \
  }                                                                                                                  \
  MM_KERNEL void __launch_bounds__(32 * TC<HDP>::NW)                                                                 \
      mm_attn_tc_dq_##HDP(float* dq, const float* dout, const float* lse, const float* dvec, const float* q,         \
                          const float* k, const float* v, const int* docs, int T, int H, int KVH, int hd,            \
                          float scale) {                                                                             \
    tc_dq<HDP>(dq, dout, lse, dvec, q, k, v, docs, T, H, KVH, hd, scale);                                            \
  }                                                                                                                  \
  MM_KERNEL void __launch_bounds__(64)                                                                               \
      mm_attn_tc_dkdv_##HDP(float* dk, float* dv, const float* dout, const float* lse, const float* dvec,            \
                            const float* q, const float* k, const float* v, const int* docs, int T, int H, int KVH,  \
                            int hd, float scale) {                                                                   \
    tc_dkdv<HDP>(dk, dv, dout, lse, dvec, q, k, v, docs, T, H, KVH, hd, scale);                                      \
  }

TC_KERNELS(16)
TC_KERNELS(32)
TC_KERNELS(64)
TC_KERNELS(80)
TC_KERNELS(96)
TC_KERNELS(128)
