// rope.wgsl — rotary position embedding in place, rotate_half layout.
//
//   half = hd / 2, c = cos[pos[t], i], s = sin[pos[t], i]
//   x'[t, h, i]        = x[t, h, i]·c - x[t, h, i + half]·s
//   x'[t, h, i + half] = x[t, h, i + half]·c + x[t, h, i]·s          for i < half
//
// pos is host data in the aux buffer at pos_off.
//
// Bindings:
//   0 p    uniform  Params
//   1 aux  storage  read        array<u32>  pos at [pos_off, pos_off + count)
//   2 x    storage  read_write  array<f32>  [count, heads, hd]
//   3 cos_t  storage  read      array<f32>  [maxPos, hd/2]
//   4 sin_t  storage  read      array<f32>  [maxPos, hd/2]
//
// Dispatch: ceil(count·heads·hd/2 / 256) workgroups (x·y folded).

struct Params {
  count: u32,
  heads: u32,
  hd: u32,
  pos_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> aux: array<u32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read> cos_t: array<f32>;
@group(0) @binding(4) var<storage, read> sin_t: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let half = p.hd / 2u;
  let idx = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (idx >= p.count * p.heads * half) {
    return;
  }
  let i = idx % half;
  let th = idx / half;       // t·heads + h
  let t = th / p.heads;
  let pos = aux[p.pos_off + t];
  let c = cos_t[pos * half + i];
  let s = sin_t[pos * half + i];
  let base = th * p.hd;
  let a = x[base + i];
  let b = x[base + i + half];
  x[base + i] = a * c - b * s;
  x[base + i + half] = b * c + a * s;
}
