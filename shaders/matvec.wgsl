// matvec.wgsl — a Linear layer for a few rows (decode: n = 1..4), the
// bandwidth-bound case: every weight is read once.
//
//   out[r, c] = Σ_j x[r, j] · w[c, j]        for r < n ≤ 4, c < m, j < k   (k % 4 = 0)
//
// One invocation per output column c: it streams weight row c in vec4 steps
// and keeps the n ≤ 4 dot products in registers. No workgroup memory and no
// barriers: on CPU-emulated devices (lavapipe, SwiftShader), which run the
// invocations of a workgroup as SIMD lanes of one thread, this is 2–20×
// faster than splitting k across a workgroup and reducing; on GPUs each
// invocation's row stays in cache across its consecutive reads.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<vec4<f32>>  [n, k/4]
//   2 w    storage  read        array<vec4<f32>>  [m, k/4]
//   3 out  storage  read_write  array<f32>        [n, m]
//
// Dispatch: ceil(m / 64) workgroups (x·y folded).

struct Params {
  n: u32,
  k: u32,
  m: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (c >= p.m) {
    return;
  }
  let k4 = p.k / 4u;
  let wb = c * k4;
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  if (p.n == 1u) {
    for (var j = 0u; j < k4; j++) {
      a0 += dot(x[j], w[wb + j]);
    }
  } else {
    for (var j = 0u; j < k4; j++) {
      let wv = w[wb + j];
      a0 += dot(x[j], wv);
      if (p.n > 1u) {
        a1 += dot(x[k4 + j], wv);
      }
      if (p.n > 2u) {
        a2 += dot(x[2u * k4 + j], wv);
      }
      if (p.n > 3u) {
        a3 += dot(x[3u * k4 + j], wv);
      }
    }
  }
  out[c] = a0;
  if (p.n > 1u) {
    out[p.m + c] = a1;
  }
  if (p.n > 2u) {
    out[2u * p.m + c] = a2;
  }
  if (p.n > 3u) {
    out[3u * p.m + c] = a3;
  }
}
