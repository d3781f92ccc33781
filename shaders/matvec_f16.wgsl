// matvec_f16.wgsl — matvec.wgsl with the weights stored as packed IEEE half
// floats (two per u32, see pack_f16.wgsl), halving the bytes read per token.
//
//   out[r, c] = Σ_j x[r, j] · f32(w[c, j])   for r < n ≤ 4, c < m, j < k   (k % 4 = 0)
//
// One invocation per output column, as matvec.wgsl.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<vec4<f32>>  [n, k/4]
//   2 w    storage  read        array<vec2<u32>>  [m, k/4] (4 halves per element)
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
@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn wrow(i: u32) -> vec4<f32> {
  let h = w[i];
  return vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y));
}

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
      a0 += dot(x[j], wrow(wb + j));
    }
  } else {
    for (var j = 0u; j < k4; j++) {
      let wv = wrow(wb + j);
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
