// topk.wgsl — the k largest logits of each row, best first, on the device,
// so temperature/top-k/top-p sampling reads back 2·k numbers instead of the
// whole [V] row. Order: larger value first, ties to the lower index (the host
// sampler's stable sort); NaN is never chosen.
//
//   (idx[r, 0..k), val[r, 0..k)) = the first k of row r in that order   for r < rows
//
// One workgroup of 256 invocations per row runs k rounds; round i picks the
// best element ranking strictly after the one picked in round i-1 (strided
// scans and a tree reduction over (value, index) pairs).
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [rows, cols]
//   2 idx  storage  read_write  array<u32>  [rows, k]
//   3 val  storage  read_write  array<f32>  [rows, k]
//
// Dispatch: rows workgroups (x·y folded). Needs k ≤ cols.

struct Params {
  rows: u32,
  cols: u32,
  k: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> idx: array<u32>;
@group(0) @binding(3) var<storage, read_write> val: array<f32>;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> bv: array<f32, 256>; // [WG]
var<workgroup> bi: array<u32, 256>; // [WG]

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
  var pv = 0.0;   // previous pick
  var pi = NONE;
  for (var round = 0u; round < p.k; round++) {
    var best = 0.0;
    var besti = NONE;
    for (var j = lid; j < p.cols; j += WG) {
      let v = x[r * p.cols + j];
      // Eligible: not NaN and ranking after the previous pick.
      if (v == v && (pi == NONE || better(pv, pi, v, j)) && better(v, j, best, besti)) {
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
    pv = bv[0];
    pi = bi[0];
    workgroupBarrier();
    if (lid == 0u) {
      idx[r * p.k + round] = select(pi, 0u, pi == NONE);
      val[r * p.k + round] = pv;
    }
  }
}
