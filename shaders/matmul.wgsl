// matmul.wgsl — a Linear layer for many rows (prefill), tiled through
// workgroup memory.
//
//   out[r, c] = Σ_j x[r, j] · w[c, j]        for r < n, c < m, j < k   (out = x·wᵀ)
//
// Each workgroup of 16×16 invocations computes a 64×64 tile of out; each
// invocation owns a 4×4 block of it: rows ty + 16·i and columns tx + 16·j
// (i, j < 4), so neighbouring invocations touch neighbouring addresses. The
// k dimension is walked in steps of 16: the 64×16 slices of x and w are
// staged in workgroup memory, transposed and packed so that one vec4 read
// gives an invocation its 4 rows (or 4 columns) at one k; the 4×4 block then
// accumulates as 4 vec4 FMAs per k in registers. Edges (n, m, k not
// multiples of the tile) are zero-padded on load and masked on store.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [n, k]
//   2 w    storage  read        array<f32>  [m, k]
//   3 out  storage  read_write  array<f32>  [n, m]
//
// Dispatch: (ceil(m / 64), ceil(n / 64), 1) workgroups.

struct Params {
  n: u32,
  k: u32,
  m: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u; // tile rows (n)
const TN: u32 = 64u; // tile columns (m)
const TK: u32 = 16u; // k step

// xs[kk·16 + ty][i] = x[row0 + ty + 16·i, k0 + kk]   [TK][16] vec4
// ws[kk·16 + tx][j] = w[col0 + tx + 16·j, k0 + kk]   [TK][16] vec4
var<workgroup> xs: array<vec4<f32>, 256>;
var<workgroup> ws: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
  // acc_i[j] = out[row0 + ty + 16·i, col0 + tx + 16·j]
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += TK) {
    for (var e = 0u; e < 4u; e++) {
      let idx = li + e * 256u;
      let r = idx / TK;  // 0..63: tile row of x, tile column of w
      let kk = idx % TK; // 0..15
      let gk = k0 + kk;
      var xv = 0.0;
      if (row0 + r < p.n && gk < p.k) {
        xv = x[(row0 + r) * p.k + gk];
      }
      xs[kk * 16u + r % 16u][r / 16u] = xv;
      var wv = 0.0;
      if (col0 + r < p.m && gk < p.k) {
        wv = w[(col0 + r) * p.k + gk];
      }
      ws[kk * 16u + r % 16u][r / 16u] = wv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let a = xs[kk * 16u + l.y];
      let b = ws[kk * 16u + l.x];
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }
  var acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + l.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + l.x + 16u * j;
      if (r < p.n && c < p.m) {
        out[r * p.m + c] = acc[i][j];
      }
    }
  }
}
