// scatter_add.wgsl — adds the weighted outputs of one MoE expert back into
// the token rows they came from.
//
//   out[rows[i], d] += w[i] · x[i, d]       for i < count, d < dim
//
// rows (u32) and w (f32 bits) are host data in the aux buffer at rows_off and
// w_off. When the rows are distinct (serial = 0) every element is its own
// invocation; otherwise (serial = 1) one invocation per column d walks i in
// order, so repeated rows accumulate deterministically.
//
// Bindings:
//   0 p    uniform  Params
//   1 aux  storage  read        array<u32>  rows, w
//   2 x    storage  read        array<f32>  [count, dim]
//   3 out  storage  read_write  array<f32>  [N, dim]
//
// Dispatch: ceil(count·dim / 256) workgroups, or ceil(dim / 256) when serial (x·y folded).

struct Params {
  count: u32,
  dim: u32,
  rows_off: u32,
  w_off: u32,
  serial: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> aux: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (p.serial != 0u) {
    if (idx >= p.dim) {
      return;
    }
    for (var i = 0u; i < p.count; i++) {
      let w = bitcast<f32>(aux[p.w_off + i]);
      let o = aux[p.rows_off + i] * p.dim + idx;
      out[o] = out[o] + w * x[i * p.dim + idx];
    }
    return;
  }
  if (idx >= p.count * p.dim) {
    return;
  }
  let i = idx / p.dim;
  let d = idx % p.dim;
  let w = bitcast<f32>(aux[p.w_off + i]);
  let o = aux[p.rows_off + i] * p.dim + d;
  out[o] = out[o] + w * x[idx];
}
