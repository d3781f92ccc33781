// attention_decode.wgsl — causal grouped-query attention with the G = H/KVH
// query heads of a kv head served together: the decode kernel (T = 1 over
// the KV cache), also used for prefill when its scratch fits.
//
//   query t of sequence b sits at position pos0 + t and sees the n = pos0 + t + 1
//   keys j < n (with docs, only those of its own document); heads
//   h = g·G + hh (hh < G) share kv head g:
//   s[hh, j] = scale · Σ_d q[b, t, h, d] · k[b, j, g, d]
//   out[b, t, h, :] = Σ_j softmax_j(s[hh, :]) · v[b, j, g, :]
//
// One workgroup of 64 invocations per (g, t, b) serves all G heads of the
// group, so every key and value row is read once per group instead of once
// per head. Loops over the heads have the constant bound MAXG (and exit at
// G) so that compilers can unroll them and keep the per-head values in
// registers. Three passes over the keys:
//   1. each invocation scores keys j ≡ lid (mod 64) for all G heads into
//      pr (a finite sentinel for masked keys, and the masked -inf in scores
//      when tracing), keeping per-head maxima; a tree reduction gives the
//      row maxima;
//   2. pr ← exp(pr - max) (0 for masked keys), per-head sums reduced alike;
//   3. out[h, d] = Σ_j pr[h, j] · v[j, d] / sum, invocations striding over
//      the G·hd/4 vec4s of the outputs; with trace = 1, pr is then normalised in place and
//      the row is padded to width (scores -inf, probs 0).
// pr is the probs output when tracing, otherwise a scratch buffer, so the
// kernel needs B·H·T·width floats of it: the engine uses attention.wgsl when
// that is too large.
//
// Bindings:
//   0 p       uniform  Params
//   1 aux     storage  read        array<u32>        docs [B·T] at docs_off (when use_docs = 1)
//   2 q       storage  read        array<f32>        [B, T, H, hd]
//   3 k       storage  read        array<vec4<f32>>  [B, S, KVH, hd/4]
//   4 v       storage  read        array<vec4<f32>>  [B, S, KVH, hd/4]
//   5 out     storage  read_write  array<f32>        [B, T, H·hd]
//   6 scores  storage  read_write  array<f32>        [B, H, T, width] (a dummy unless trace)
//   7 pr      storage  read_write  array<f32>        [B, H, T, width] probs or scratch
//
// Dispatch: (KVH, T, B) workgroups. Limits: G ≤ 8, G·hd ≤ 2048, hd % 4 = 0.

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
@group(0) @binding(4) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> scores: array<f32>;
@group(0) @binding(7) var<storage, read_write> pr: array<f32>;

const WG: u32 = 64u;
const MAXG: u32 = 8u;
const NEG: f32 = -3.0e38; // finite stand-in for -inf in arithmetic
const NEG_INF_BITS: u32 = 0xff800000u;

var<workgroup> qs: array<vec4<f32>, 512>; // [G, hd/4] the group's queries
var<workgroup> red: array<f32, 512>;      // [WG][MAXG] reduction scratch
var<workgroup> stat: array<f32, 8>;       // [G] row max, then row sum

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let t = wid.y;
  let b = wid.z;
  let hd = p.hd;
  let hd4 = hd / 4u;
  let G = p.H / p.KVH;
  let n = p.pos0 + t + 1u;
  let h0 = g * G;
  let qb = ((b * p.T + t) * p.H + h0) * hd; // the G heads are adjacent in q
  for (var i = lid; i < G * hd4; i += WG) {
    qs[i] = vec4<f32>(q[qb + 4u * i], q[qb + 4u * i + 1u], q[qb + 4u * i + 2u], q[qb + 4u * i + 3u]);
  }
  var mydoc = 0u;
  if (p.use_docs != 0u) {
    mydoc = aux[p.docs_off + b * p.T + t];
  }
  workgroupBarrier();
  // Row of head hh: ((b·H + h0 + hh)·T + t)·width.
  let row0 = ((b * p.H + h0) * p.T + t) * p.width;
  let rstride = p.T * p.width;

  // Pass 1: scores and per-head maxima.
  var mx = array<f32, 8>(NEG, NEG, NEG, NEG, NEG, NEG, NEG, NEG);
  for (var j = lid; j < n; j += WG) {
    var valid = true;
    if (p.use_docs != 0u) {
      valid = aux[p.docs_off + b * p.T + j] == mydoc;
    }
    let kb = ((b * p.S + j) * p.KVH + g) * hd4;
    var dots = array<f32, 8>(); // initialised on every iteration (a bare declaration is not, on some compilers)
    if (valid) {
      for (var d = 0u; d < hd4; d++) {
        let kd = k[kb + d];
        for (var hh = 0u; hh < MAXG; hh++) {
          if (hh < G) {
            dots[hh] += dot(qs[hh * hd4 + d], kd);
          }
        }
      }
    }
    for (var hh = 0u; hh < MAXG; hh++) {
      if (hh >= G) {
        break;
      }
      let s = select(NEG, dots[hh] * p.scale, valid);
      let o = row0 + hh * rstride + j;
      pr[o] = s;
      if (p.trace != 0u) {
        scores[o] = select(bitcast<f32>(p.neg_inf_bits), s, valid);
      }
      mx[hh] = max(mx[hh], s);
    }
  }
  for (var hh = 0u; hh < MAXG; hh++) {
    red[lid * MAXG + hh] = mx[hh];
  }
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      for (var hh = 0u; hh < MAXG; hh++) {
        red[lid * MAXG + hh] = max(red[lid * MAXG + hh], red[(lid + st) * MAXG + hh]);
      }
    }
    workgroupBarrier();
  }
  if (lid < MAXG) {
    stat[lid] = red[lid];
  }
  workgroupBarrier();

  // Pass 2: exponentials and per-head sums (each invocation revisits its own keys).
  var sm = array<f32, 8>();
  for (var j = lid; j < n; j += WG) {
    for (var hh = 0u; hh < MAXG; hh++) {
      if (hh >= G) {
        break;
      }
      let o = row0 + hh * rstride + j;
      let e = exp(pr[o] - stat[hh]); // masked: exp(NEG - max) = 0
      pr[o] = e;
      sm[hh] += e;
    }
  }
  for (var hh = 0u; hh < MAXG; hh++) {
    red[lid * MAXG + hh] = sm[hh];
  }
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      for (var hh = 0u; hh < MAXG; hh++) {
        red[lid * MAXG + hh] += red[(lid + st) * MAXG + hh];
      }
    }
    workgroupBarrier();
  }
  if (lid < MAXG) {
    stat[lid] = red[lid];
  }
  storageBarrier(); // pr written by every invocation is read by all below
  workgroupBarrier();

  // Pass 3: weighted sum of the values, 4 head dims per invocation.
  for (var i = lid; i < G * hd4; i += WG) {
    let hh = i / hd4;
    let d4 = i % hd4;
    let prow = row0 + hh * rstride;
    var a = vec4<f32>(0.0);
    for (var j = 0u; j < n; j++) {
      a = fma(vec4<f32>(pr[prow + j]), v[((b * p.S + j) * p.KVH + g) * hd4 + d4], a);
    }
    a = a / stat[hh];
    let ob = ((b * p.T + t) * p.H + h0 + hh) * hd + 4u * d4;
    out[ob] = a.x;
    out[ob + 1u] = a.y;
    out[ob + 2u] = a.z;
    out[ob + 3u] = a.w;
  }
  if (p.trace != 0u) {
    storageBarrier();
    for (var j = lid; j < p.width; j += WG) {
      for (var hh = 0u; hh < MAXG; hh++) {
        if (hh >= G) {
          break;
        }
        let o = row0 + hh * rstride + j;
        if (j < n) {
          pr[o] = pr[o] * (1.0 / stat[hh]);
        } else {
          pr[o] = 0.0;
          scores[o] = bitcast<f32>(p.neg_inf_bits);
        }
      }
    }
  }
}
