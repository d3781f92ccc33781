// rope.cu: rotary position embedding in the HF rotate_half layout, in place.
//
//   mm_rope   x [ntok, heads, hd]; for each token t, head h, i < hd/2, with
//             c = cos[pos[t], i], s = sin[pos[t], i], a = x[..., i], b = x[..., i + hd/2]:
//               forward  (inverse = 0): a' = a·c − b·s, b' = b·c + a·s
//               backward (inverse = 1): a' = a·c + b·s, b' = b·c − a·s   (the transpose)
//             cos, sin [maxPos, hd/2]; pos [ntok].
//
// Launch shape: block 256, grid-stride over ntok·heads·hd/2 pairs, grid ≤ 65535.
#include "common.cuh"

MM_KERNEL void mm_rope(float* x, const float* cos_t, const float* sin_t, const int* pos, int ntok, int heads, int hd,
                       int inverse) {
  const int half = hd / 2;
  long long total = (long long)ntok * heads * half;
  for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
       e += (long long)gridDim.x * blockDim.x) {
    int i = (int)(e % half);
    long long th = e / half;  // t·heads + h
    int t = (int)(th / heads);
    size_t p = (size_t)pos[t] * half + i;
    float c = cos_t[p], s = sin_t[p];
    float* v = x + th * hd;
    float a = v[i], b = v[i + half];
    if (inverse) {
      v[i] = a * c + b * s;
      v[i + half] = b * c - a * s;
    } else {
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }
}
