// matmul_reg_f16.wgsl — matmul_reg.wgsl with the weights stored as packed
// IEEE halves (see pack_f16.wgsl), decoded with unpack2x16float. From
// matmul_reg.wgsl: a Linear layer for many rows, register-blocked without
// workgroup memory: the variant the engine picks on CPU-emulated adapters
// (lavapipe, SwiftShader), which run a workgroup's invocations as SIMD lanes
// of one CPU thread, so that barriers cost coroutine switches while plain
// loads hit the CPU's caches. There it is 2–4× faster than matmul.wgsl.
//
//   out[r, c] = Σ_j x[r, j] · f32(w[c, j])   for r < n, c < m, j < k   (k % 4 = 0)
//
// Each invocation computes a 4×4 block (rows r0..r0+3, columns c0..c0+3),
// walking k in vec4 steps: 8 vec4 loads feed 16 dot products. Rows and
// columns past the edge are clamped on load and masked on store.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<vec4<f32>>  [n, k/4]
//   2 w    storage  read        array<vec2<u32>>  [m, k/4] (4 halves per element)
//   3 out  storage  read_write  array<f32>        [n, m]
//
// Dispatch: (ceil(m / 64), ceil(n / 64), 1) workgroups of 16×16.

struct Params {
  n: u32,
  k: u32,
  m: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec2<u32>>;

fn wv(i: u32) -> vec4<f32> {
  let h = w[i];
  return vec4<f32>(unpack2x16float(h.x), unpack2x16float(h.y));
}
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let r0 = wid.y * 64u + l.y * 4u;
  let c0 = wid.x * 64u + l.x * 4u;
  let k4 = p.k / 4u;
  // Row and column bases, clamped to the last valid one.
  let xa = min(r0, p.n - 1u) * k4;
  let xb = min(r0 + 1u, p.n - 1u) * k4;
  let xc = min(r0 + 2u, p.n - 1u) * k4;
  let xd = min(r0 + 3u, p.n - 1u) * k4;
  let wa = min(c0, p.m - 1u) * k4;
  let wb = min(c0 + 1u, p.m - 1u) * k4;
  let wc = min(c0 + 2u, p.m - 1u) * k4;
  let wd = min(c0 + 3u, p.m - 1u) * k4;
  // a_i[j] = out[r0 + i, c0 + j]
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var j = 0u; j < k4; j++) {
    let x0 = x[xa + j];
    let x1 = x[xb + j];
    let x2 = x[xc + j];
    let x3 = x[xd + j];
    let w0 = wv(wa + j);
    let w1 = wv(wb + j);
    let w2 = wv(wc + j);
    let w3 = wv(wd + j);
    a0 += vec4<f32>(dot(x0, w0), dot(x0, w1), dot(x0, w2), dot(x0, w3));
    a1 += vec4<f32>(dot(x1, w0), dot(x1, w1), dot(x1, w2), dot(x1, w3));
    a2 += vec4<f32>(dot(x2, w0), dot(x2, w1), dot(x2, w2), dot(x2, w3));
    a3 += vec4<f32>(dot(x3, w0), dot(x3, w1), dot(x3, w2), dot(x3, w3));
  }
  var acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var i = 0u; i < 4u; i++) {
    for (var jj = 0u; jj < 4u; jj++) {
      if (r0 + i < p.n && c0 + jj < p.m) {
        out[(r0 + i) * p.m + c0 + jj] = acc[i][jj];
      }
    }
  }
}
