// gemm.cu: the engine's own matrix products, used when no cuBLASLt library
// is found at run time (and by the CPU emulation tests).
//
//   C [M, N] (row stride ldc) = alpha · op(A) · op(B) + beta · C
//   op(A) [M, K]: transA = 0 reads A[m·lda + k], transA = 1 reads A[k·lda + m]
//   op(B) [K, N]: transB = 0 reads B[k·ldb + n], transB = 1 reads B[n·ldb + k]
//   (beta = 0 never reads C, so C may hold garbage.)
//
//   mm_gemm_bf16  bf16 A and B, fp32 accumulation and C, on tensor cores (wmma
//                 16×16×16). Block tile 64×64, K step 32, block 128 threads =
//                 2×2 warps of 32×32; grid (ceil(N/64), ceil(M/64)). Tiles are
//                 staged through shared memory with bounds checks (any M, N, K).
//   mm_gemm_f32   fp32 everything on the CUDA cores. Block tile 64×64, K step
//                 16, block 256 threads of 4×4 outputs; grid (ceil(N/64), ceil(M/64)).
#include "common.cuh"

#define GB_M 64
#define GB_N 64
#define GB_K 32

MM_KERNEL void __launch_bounds__(128) mm_gemm_bf16(float* C, const bf16* A, const bf16* B, int M, int N, int K,
                                                   int lda, int ldb, int ldc, int transA, int transB, float alpha,
                                                   float beta) {
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 As[GB_M][GB_K + 8];  // [m][k]
  __shared__ __align__(32) __nv_bfloat16 Bs[GB_K][GB_N + 8];  // [k][n]
  __shared__ __align__(32) float Cs[GB_M][GB_N + 4];
  const int m0 = blockIdx.y * GB_M, n0 = blockIdx.x * GB_N;
  const int warp = threadIdx.x >> 5, wm = warp >> 1, wn = warp & 1;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);
  for (int k0 = 0; k0 < K; k0 += GB_K) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < GB_M * GB_K; idx += blockDim.x) {
      // consecutive threads read consecutive addresses in either layout
      int i = transA ? idx % GB_M : idx / GB_K, kk = transA ? idx / GB_M : idx % GB_K;
      int m = m0 + i, k = k0 + kk;
      bf16 v = 0;
      if (m < M && k < K) v = transA ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k];
      As[i][kk] = __ushort_as_bfloat16(v);
    }
    for (int idx = threadIdx.x; idx < GB_K * GB_N; idx += blockDim.x) {
      int kk = transB ? idx % GB_K : idx / GB_N, j = transB ? idx / GB_K : idx % GB_N;
      int n = n0 + j, k = k0 + kk;
      bf16 v = 0;
      if (n < N && k < K) v = transB ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n];
      Bs[kk][j] = __ushort_as_bfloat16(v);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < GB_K; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &As[wm * 32 + i * 16][kk], GB_K + 8);
#pragma unroll
      for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &Bs[kk][wn * 32 + j * 16], GB_N + 8);
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
  }
#pragma unroll
  for (int i = 0; i < 2; i++)
#pragma unroll
    for (int j = 0; j < 2; j++)
      wmma::store_matrix_sync(&Cs[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], GB_N + 4, wmma::mem_row_major);
  __syncthreads();
  for (int idx = threadIdx.x; idx < GB_M * GB_N; idx += blockDim.x) {
    int i = idx / GB_N, j = idx % GB_N, m = m0 + i, n = n0 + j;
    if (m < M && n < N) {
      float r = alpha * Cs[i][j];
      if (beta != 0.f) r += beta * C[(size_t)m * ldc + n];
      C[(size_t)m * ldc + n] = r;
    }
  }
}

#define GF_M 64
#define GF_N 64
#define GF_K 16

MM_KERNEL void __launch_bounds__(256) mm_gemm_f32(float* C, const float* A, const float* B, int M, int N, int K,
                                                  int lda, int ldb, int ldc, int transA, int transB, float alpha,
                                                  float beta) {
  __shared__ float As[GF_K][GF_M + 4];  // [k][m]
  __shared__ float Bs[GF_K][GF_N + 4];  // [k][n]
  const int m0 = blockIdx.y * GF_M, n0 = blockIdx.x * GF_N;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;  // output rows ty+16i, columns tx+16j
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
  for (int k0 = 0; k0 < K; k0 += GF_K) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < GF_M * GF_K; idx += blockDim.x) {
      int i = transA ? idx % GF_M : idx / GF_K, kk = transA ? idx / GF_M : idx % GF_K;
      int m = m0 + i, k = k0 + kk;
      As[kk][i] = (m < M && k < K) ? (transA ? A[(size_t)k * lda + m] : A[(size_t)m * lda + k]) : 0.f;
    }
    for (int idx = threadIdx.x; idx < GF_K * GF_N; idx += blockDim.x) {
      int kk = transB ? idx % GF_K : idx / GF_N, j = transB ? idx / GF_K : idx % GF_N;
      int n = n0 + j, k = k0 + kk;
      Bs[kk][j] = (n < N && k < K) ? (transB ? B[(size_t)n * ldb + k] : B[(size_t)k * ldb + n]) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < GF_K; kk++) {
      float a[4], b[4];
#pragma unroll
      for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
    }
  }
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++) {
      int m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
      if (m < M && n < N) {
        float r = alpha * acc[i][j];
        if (beta != 0.f) r += beta * C[(size_t)m * ldc + n];
        C[(size_t)m * ldc + n] = r;
      }
    }
}
