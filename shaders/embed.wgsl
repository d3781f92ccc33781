// embed.wgsl — token embedding lookup.
//
//   out[i, d] = table[ids[i], d]            for i < count, d < dim
//
// The ids are host data passed through the per-batch aux buffer at ids_off
// (the engine checks them against the table size before dispatching).
//
// Bindings:
//   0 p      uniform  Params
//   1 aux    storage  read        array<u32>  ids at [ids_off, ids_off + count)
//   2 table  storage  read        array<f32>  [V, dim]
//   3 out    storage  read_write  array<f32>  [count, dim]
//
// Dispatch: ceil(count·dim / 256) workgroups (x·y folded).

struct Params {
  count: u32,
  dim: u32,
  ids_off: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> aux: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
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
  let id = aux[p.ids_off + i];
  out[idx] = table[id * p.dim + d];
}
