// copy.wgsl — copies a range of one tensor into another (KV-cache writes,
// last-row selection, staging of aliased inputs).
//
//   dst[dst_off + i] = src[src_off + i]     for i < n
//
// Bindings:
//   0 p    uniform  Params
//   1 src  storage  read        array<f32>  [≥ src_off + n]
//   2 dst  storage  read_write  array<f32>  [≥ dst_off + n]
//
// Dispatch: ceil(n / 256) workgroups (x·y folded).

struct Params {
  n: u32,
  src_off: u32,
  dst_off: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i < p.n) {
    dst[p.dst_off + i] = src[p.src_off + i];
  }
}
