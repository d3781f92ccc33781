// add.wgsl — residual add.
//
//   out[i] = a[i] + b[i]                    for i < n
//
// Bindings:
//   0 p    uniform  Params
//   1 a    storage  read        array<f32>  [≥ n]
//   2 b    storage  read        array<f32>  [≥ n]
//   3 out  storage  read_write  array<f32>  [≥ n]
//
// Dispatch: ceil(n / 256) workgroups (x·y folded).

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) {
    out[i] = a[i] + b[i];
  }
}
