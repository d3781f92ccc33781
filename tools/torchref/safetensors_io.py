"""Minimal, dependency-free safetensors reader and writer.

File layout (all integers little-endian):

    u64 N                 length of the JSON header in bytes
    N bytes               JSON: {"__metadata__": {...}?,
                                 name: {"dtype": "F32", "shape": [...],
                                        "data_offsets": [begin, end]}, ...}
                          padded with spaces so that 8 + N is a multiple of 8
    data                  raw tensor bytes; offsets are relative to this point

Tensors are written in sorted name order, back to back, so that the same
tensors always produce the same bytes.
"""

import json
import struct

import numpy as np
import torch

# safetensors dtype name -> (numpy dtype, torch dtype)
_DTYPES = {
    "F32": (np.dtype("<f4"), torch.float32),
    "F16": (np.dtype("<f2"), torch.float16),
    "F64": (np.dtype("<f8"), torch.float64),
    "I64": (np.dtype("<i8"), torch.int64),
    "I32": (np.dtype("<i4"), torch.int32),
}
_TORCH_TO_NAME = {v[1]: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """Write a dict name -> torch.Tensor to `path` as safetensors.

    Tensors keep their dtype (F32, F16, F64, I64 or I32); callers convert to
    float32 first when they want F32 files.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _TORCH_TO_NAME:
            raise ValueError(f"safetensors: tensor {name}: unsupported dtype {t.dtype}")
        dt = _TORCH_TO_NAME[t.dtype]
        raw = t.numpy().astype(_DTYPES[dt][0], copy=False).tobytes(order="C")
        header[name] = {
            "dtype": dt,
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    pad = (-(8 + len(hjson))) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def load(path):
    """Read a safetensors file into a dict name -> torch.Tensor (copies)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"safetensors: {path}: file too short")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"safetensors: {path}: header length {n} exceeds file size")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        if dt not in _DTYPES:
            raise ValueError(f"safetensors: {path}: tensor {name}: unsupported dtype {dt}")
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[base + b : base + e], dtype=_DTYPES[dt][0])
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out
