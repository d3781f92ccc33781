// gather.wgsl — collects the rows of the tokens routed to one MoE expert.
//
//   out[i, d] = x[rows[i], d]               for i < count, d < dim
//
// rows is host data in the aux buffer at rows_off.
//
// Bindings:
//   0 p    uniform  Params
//   1 aux  storage  read        array<u32>  rows at [rows_off, rows_off + count)
//   2 x    storage  read        array<f32>  [N, dim]
//   3 out  storage  read_write  array<f32>  [count, dim]
//
// Dispatch: ceil(count·dim / 256) workgroups (x·y folded).

struct Params {
  count: u32,
  dim: u32,
  rows_off: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> aux: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (idx >= p.count * p.dim) {
    return;
  }
  let i = idx / p.dim;
  let d = idx % p.dim;
  out[idx] = x[aux[p.rows_off + i] * p.dim + d];
}
