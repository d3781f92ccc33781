// softmax.wgsl — softmax over rows (the MoE router scores).
//
//   out[r, j] = exp(x[r, j] - max_r) / Σ_j exp(x[r, j] - max_r)     for r < rows, j < cols
//
// One workgroup of 64 invocations per row; max and sum are tree reductions.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [rows, cols]
//   2 out  storage  read_write  array<f32>  [rows, cols]
//
// Dispatch: rows workgroups (x·y folded).

struct Params {
  rows: u32,
  cols: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>; // [WG]

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  var m = -3.0e38;
  for (var j = lid; j < p.cols; j += WG) {
    m = max(m, x[base + j]);
  }
  red[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] = max(red[lid], red[lid + s]);
    }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let e = exp(x[base + j] - m);
    out[base + j] = e;
    sum += e;
  }
  red[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let inv = 1.0 / red[0];
  // Each invocation rescales the elements it wrote itself.
  for (var j = lid; j < p.cols; j += WG) {
    out[base + j] = out[base + j] * inv;
  }
}
