// swiglu.wgsl — the gated activation of the feed-forward block.
//
//   out[i] = silu(gate[i]) · up[i],  silu(x) = x · sigmoid(x)      for i < n
//
// sigmoid is evaluated without overflow on either side.
//
// Bindings:
//   0 p     uniform  Params
//   1 gate  storage  read        array<f32>  [≥ n]
//   2 up    storage  read        array<f32>  [≥ n]
//   3 out   storage  read_write  array<f32>  [≥ n]
//
// Dispatch: ceil(n / 256) workgroups (x·y folded).

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) {
    return 1.0 / (1.0 + exp(-x));
  }
  let e = exp(x);
  return e / (1.0 + e);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) {
    let g = gate[i];
    out[i] = g * sigmoid(g) * up[i];
  }
}
