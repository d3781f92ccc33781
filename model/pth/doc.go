// Package pth reads PyTorch checkpoints written by torch.save, the native format of
// MiniMind's trainer (out/{stage}_{hidden}.pth, a fp16 state dict).
//
// Since PyTorch 1.6 torch.save writes a zip archive (entries stored, not deflated, though
// deflated entries are read too) holding <archive>/data.pkl, a pickle of the saved object,
// one <archive>/data/<key> record of raw little-endian elements per storage, and
// <archive>/version (and, in newer versions, <archive>/byteorder).
//
// The pickle is decoded by a small interpreter that never executes code: it knows the
// opcodes of protocols 2 to 4 (protocol 5 out-of-band buffers and the text opcodes of
// protocol 0 are refused) and recognises only the callables a checkpoint needs
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, the
// typed storage classes such as torch.HalfStorage, _codecs.encode). Any other class is
// recorded as an inert [Object], never called.
//
// The decoded object is flattened into named tensors: dictionary keys (and list or tuple
// indexes) along the path are joined with dots, so a plain state dict yields its names as
// stored ("model.layers.0.self_attn.q_proj.weight", with any "_orig_mod." or "module."
// prefix left for the caller to strip) and a wrapping dict such as MiniMind's resume file
// {"model": state_dict, "optimizer": ..., "epoch": 1} yields "model.…" and "optimizer.…"
// tensors plus plain values ("epoch") through [File.Values].
//
// Tensors are views: a storage offset, sizes and strides into a storage that several
// tensors may share (tied embeddings, slices). Every view is checked against its storage
// when the file is opened; non-contiguous views are gathered element by element. Data of
// any dtype torch stores (F16, BF16, F32, F64, integers, bool) is converted to float32
// through [safetensors.DecodeFloat32], so a [Tensor] converts directly to a
// [safetensors.Tensor].
//
// Errors name the file and the entry and wrap one of the package's sentinel errors. No
// input makes the reader panic, and no input makes it allocate much more than the size the
// archive's records really hold.
package pth
