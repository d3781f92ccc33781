// attention.wgsl — causal grouped-query attention for a block of queries
// (prefill, or any T), with an optional document mask and optional
// scores/probabilities outputs for tracing.
//
//   query t of sequence b sits at position pos0 + t and sees keys j ≤ pos0 + t
//   (and, with docs, only keys of its own document); head h reads kv head
//   g = h / (H / KVH):
//   s[j]   = scale · Σ_d q[b, t, h, d] · k[b, j, g, d]
//   out[b, t, h, :] = Σ_j softmax(s)[j] · v[b, j, g, :]
//
// One workgroup of 64 invocations per (t, h, b). The query is staged in
// workgroup memory; keys are walked in chunks of 64 (one per invocation) with
// an online softmax. Per chunk: every invocation writes its key's score to
// sc, then (after one barrier) reads all of sc to get the chunk max and
// writes its exp(s - max) to pe; after a second barrier it sums pe and
// accumulates the head dims it owns (lid, lid + 64, ...), rescaled by
// exp(m_old - m_new). Two barriers per chunk, no tree reductions: cheap on
// GPUs and on CPU-emulated devices, where every barrier is a coroutine
// switch. Masked keys never enter the sums (a finite sentinel stands for
// -inf inside the arithmetic). Keys are read as vec4 (hd % 4 = 0).
//
// With trace = 1 the raw masked scores (-inf where masked, including
// j ≥ pos0 + t + 1 up to width) go to scores, and exp(s - max)/sum to probs;
// each invocation re-reads only the scores it wrote itself.
//
// Bindings:
//   0 p       uniform  Params
//   1 aux     storage  read        array<u32>  docs [B·T] at docs_off (when use_docs = 1)
//   2 q       storage  read        array<f32>  [B, T, H, hd]
//   3 k       storage  read        array<vec4<f32>>  [B, S, KVH, hd/4]
//   4 v       storage  read        array<f32>  [B, S, KVH, hd]
//   5 out     storage  read_write  array<f32>  [B, T, H·hd]
//   6 scores  storage  read_write  array<f32>  [B, H, T, width] (a dummy unless trace)
//   7 probs   storage  read_write  array<f32>  [B, H, T, width] (a dummy unless trace)
//
// Dispatch: (T, H, B) workgroups. Limits: hd ≤ 256, hd % 4 = 0.

struct Params {
  T: u32,
  H: u32,
  KVH: u32,
  hd: u32,
  S: u32,
  pos0: u32,
  scale: f32,
  width: u32,
  trace: u32,
  use_docs: u32,
  docs_off: u32,
  neg_inf_bits: u32, // 0xff800000: -inf comes from the host, as a constant
                     // -inf is rejected by some compilers (WGSL has no f32 infinity)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> aux: array<u32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> scores: array<f32>;
@group(0) @binding(7) var<storage, read_write> probs: array<f32>;

const WG: u32 = 64u;
const MAXD: u32 = 4u;        // head dims per invocation (hd ≤ 256)
const NEG: f32 = -3.0e38;    // finite stand-in for -inf in arithmetic
const NEG_INF_BITS: u32 = 0xff800000u;

var<workgroup> qs: array<vec4<f32>, 64>; // [hd/4] the query
var<workgroup> sc: array<f32, 64>;       // [WG] scores of the current chunk (NEG: masked)
var<workgroup> pe: array<f32, 64>;       // [WG] exp(s - m) of the current chunk

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let h = wid.y;
  let b = wid.z;
  let hd = p.hd;
  let g = h / (p.H / p.KVH);
  let hd4 = hd / 4u;
  let qbase = ((b * p.T + t) * p.H + h) * hd;
  for (var d = lid; d < hd4; d += WG) {
    qs[d] = vec4<f32>(q[qbase + 4u * d], q[qbase + 4u * d + 1u], q[qbase + 4u * d + 2u], q[qbase + 4u * d + 3u]);
  }
  workgroupBarrier();

  let n = p.pos0 + t + 1u; // visible keys 0..n-1
  var mydoc = 0u;
  if (p.use_docs != 0u) {
    mydoc = aux[p.docs_off + b * p.T + t];
  }
  let row = ((b * p.H + h) * p.T + t) * p.width; // this query's row of scores/probs
  var m = NEG;  // running max
  var l = 0.0;  // running sum of exp(s - m)
  var acc = array<f32, 4>();
  for (var j0 = 0u; j0 < n; j0 += WG) {
    let j = j0 + lid;
    var s = NEG;
    var valid = j < n;
    if (valid && p.use_docs != 0u) {
      valid = aux[p.docs_off + b * p.T + j] == mydoc;
    }
    if (valid) {
      let kb = ((b * p.S + j) * p.KVH + g) * hd4;
      var dotv = 0.0;
      for (var d = 0u; d < hd4; d++) {
        dotv += dot(qs[d], k[kb + d]);
      }
      s = dotv * p.scale;
    }
    if (p.trace != 0u && j < n) {
      scores[row + j] = select(bitcast<f32>(p.neg_inf_bits), s, valid);
    }
    sc[lid] = s;
    workgroupBarrier();
    let cnt = min(WG, n - j0);
    var cm = NEG;
    for (var jj = 0u; jj < cnt; jj++) {
      cm = max(cm, sc[jj]);
    }
    let mn = max(m, cm);
    var e = 0.0;
    if (valid) {
      e = exp(s - mn);
    }
    pe[lid] = e;
    workgroupBarrier();
    let alpha = exp(m - mn); // 0 while nothing was seen (m = NEG), 1 when the max holds
    var cs = 0.0;
    for (var jj = 0u; jj < cnt; jj++) {
      cs += pe[jj];
    }
    l = l * alpha + cs;
    for (var i = 0u; i < MAXD; i++) {
      let d = lid + i * WG;
      if (d < hd) {
        var a = acc[i] * alpha;
        for (var jj = 0u; jj < cnt; jj++) {
          a = fma(pe[jj], v[((b * p.S + j0 + jj) * p.KVH + g) * hd + d], a);
        }
        acc[i] = a;
      }
    }
    m = mn;
    // No third barrier: sc is next written after every invocation has
    // passed the barrier above (its reads of sc are done), and pe only
    // after the next chunk's first barrier (its reads of pe are done).
  }
  let inv = 1.0 / l;
  let obase = ((b * p.T + t) * p.H + h) * hd;
  for (var i = 0u; i < MAXD; i++) {
    let d = lid + i * WG;
    if (d < hd) {
      out[obase + d] = acc[i] * inv;
    }
  }
  if (p.trace != 0u) {
    for (var j = lid; j < p.width; j += WG) {
      var pr = 0.0;
      if (j < n) {
        let sc = scores[row + j];
        if (bitcast<u32>(sc) != NEG_INF_BITS) {
          pr = exp(sc - m) * inv;
        }
      } else {
        scores[row + j] = bitcast<f32>(p.neg_inf_bits);
      }
      probs[row + j] = pr;
    }
  }
}
