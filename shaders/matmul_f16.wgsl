// matmul_f16.wgsl — matmul.wgsl with the weights stored as IEEE half floats,
// two per u32 (element e of w is half e%2 of word e/2, as pack_f16.wgsl
// writes them), decoded with unpack2x16float while staging the tile.
// Compute and accumulation stay f32. Needs k even, so that a row starts on a
// word boundary.
//
//   out[r, c] = Σ_j x[r, j] · f32(w[c, j])   for r < n, c < m, j < k
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [n, k]
//   2 w    storage  read        array<u32>  [m, k/2] packed halves
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
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> xs: array<vec4<f32>, 256>; // [TK][16] vec4, as matmul.wgsl
var<workgroup> ws: array<vec4<f32>, 256>; // [TK][16] vec4

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
  let kw = p.k / 2u; // words per row of w
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < p.k; k0 += TK) {
    for (var e = 0u; e < 4u; e++) {
      let idx = li + e * 256u;
      let r = idx / TK;
      let kk = idx % TK;
      let gk = k0 + kk;
      var xv = 0.0;
      if (row0 + r < p.n && gk < p.k) {
        xv = x[(row0 + r) * p.k + gk];
      }
      xs[kk * 16u + r % 16u][r / 16u] = xv;
    }
    for (var e = 0u; e < 2u; e++) {
      let idx = li + e * 256u;
      let c = idx / (TK / 2u);         // 0..63
      let kp = (idx % (TK / 2u)) * 2u; // 0, 2, .., 14
      let gk = k0 + kp;
      var wv = vec2<f32>(0.0, 0.0);
      if (col0 + c < p.m && gk < p.k) {
        wv = unpack2x16float(w[(col0 + c) * kw + gk / 2u]);
      }
      ws[kp * 16u + c % 16u][c / 16u] = wv.x;
      ws[(kp + 1u) * 16u + c % 16u][c / 16u] = wv.y;
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
