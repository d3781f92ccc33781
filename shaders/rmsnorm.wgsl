// rmsnorm.wgsl — RMS normalisation of rows (input/post-attention norms, the
// final norm, and the per-head q/k norms of MiniMind3).
//
//   out[r, i] = w[i] · x[r, i] / sqrt(mean_i(x[r, :]²) + eps)      for r < rows, i < dim
//
// One workgroup of 64 invocations per row: each sums the squares of a
// strided slice, a tree reduction in workgroup memory gives the row total.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [rows, dim]
//   2 w    storage  read        array<f32>  [dim]
//   3 out  storage  read_write  array<f32>  [rows, dim]
//
// Dispatch: rows workgroups (x·y folded).

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>; // [WG] partial sums

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) {
    return; // uniform per workgroup: no barrier is skipped by only some invocations
  }
  let base = r * p.dim;
  var ss = 0.0;
  for (var i = lid; i < p.dim; i += WG) {
    let v = x[base + i];
    ss = fma(v, v, ss);
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / sqrt(red[0] / f32(p.dim) + p.eps);
  for (var i = lid; i < p.dim; i += WG) {
    out[base + i] = w[i] * (x[base + i] * inv);
  }
}
