// fill.wgsl — sets a range of a tensor to a constant (the engine zero-fills
// reused pool buffers with it before a partial write or a read).
//
//   out[off + i] = value              for i < n
//
// Bindings:
//   0 p    uniform  Params
//   1 out  storage  read_write  array<f32>  [≥ off + n]
//
// Dispatch: ceil(n / 256) workgroups, folded into x·y when above the per-dimension limit.

struct Params {
  n: u32,
  off: u32,
  value: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) {
    out[p.off + i] = p.value;
  }
}
