// pack_f16.wgsl — converts f32 weights to packed IEEE half floats for the
// *_f16 matmul shaders (done once per weight, on the device).
//
//   out[i] = pack2x16float(vec2(x[2i], x[2i+1]))     for i < ceil(n/2)  (x[n] reads as 0)
//
// Bindings:
//   0 p    uniform  Params
//   1 x    storage  read        array<f32>  [n]
//   2 out  storage  read_write  array<u32>  [ceil(n/2)]
//
// Dispatch: ceil(ceil(n/2) / 256) workgroups (x·y folded).

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (2u * i >= p.n) {
    return;
  }
  var hi = 0.0;
  if (2u * i + 1u < p.n) {
    hi = x[2u * i + 1u];
  }
  out[i] = pack2x16float(vec2<f32>(x[2u * i], hi));
}
