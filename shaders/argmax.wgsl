// argmax.wgsl — greedy sampling on the device: the index of the largest
// logit of each row, so a decode step reads back 4 bytes instead of the
// whole [V] row. Ties go to the lower index; NaN never wins (as the host
// sampler's argmax).
//
//   out[r] = min { j : x[r, j] = max_j x[r, :] }         for r < rows
//
// One workgroup of 256 invocations per row: strided scans, then a tree
// reduction over (value, index) pairs.
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [rows, cols]
//   2 out  storage  read_write  array<u32>  [rows]
//
// Dispatch: rows workgroups (x·y folded).

struct Params {
  rows: u32,
  cols: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> bv: array<f32, 256>; // [WG] best value
var<workgroup> bi: array<u32, 256>; // [WG] its index (NONE: nothing yet)

// better reports whether (v, i) ranks before (w, j): larger value, then lower index.
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  if (i == NONE) {
    return false;
  }
  if (j == NONE) {
    return true;
  }
  return v > w || (v == w && i < j);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.rows) {
    return;
  }
  var best = 0.0;
  var besti = NONE;
  for (var j = lid; j < p.cols; j += WG) {
    let v = x[r * p.cols + j];
    if (v == v && better(v, j, best, besti)) { // v == v: not NaN
      best = v;
      besti = j;
    }
  }
  bv[lid] = best;
  bi[lid] = besti;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s && better(bv[lid + s], bi[lid + s], bv[lid], bi[lid])) {
      bv[lid] = bv[lid + s];
      bi[lid] = bi[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[r] = select(bi[0], 0u, bi[0] == NONE);
  }
}
