#!/usr/bin/env python3
"""Generate the small PyTorch checkpoints the pth tests read.

Run from this directory with the system Python that has PyTorch (Debian's python3-torch):

    python3 make_pth.py

It writes:
  model.pth          torch.save of a fp16 MiniMind-style state dict (tied embeddings, two views
                     of one storage at different offsets, two non-contiguous views, a bf16
                     and a fp32 tensor, special values)
  model.safetensors  the same tensors (contiguous, same dtypes), written by hand with struct+json
                     (also copied to ../../safetensors/testdata/python.safetensors)
  proto4.pth         model.pth's state dict saved with pickle protocol 4
  deflated.pth       model.pth's zip members re-compressed with deflate
  legacy.pth         the pre-1.6 (non-zip) torch.save format, which the reader rejects clearly
                     (its storage keys are object ids, so it differs from run to run)
  wrapped.pth        a MiniMind-style resume file: {"model": ..., "optimizer": ..., "epoch": ...}
  expected.json      every tensor's dtype, shape and float32 bit patterns as PyTorch sees them
"""
import copy
import json
import struct
import zipfile

import torch

torch.manual_seed(42)

HIDDEN, VOCAB, FFN, KV = 8, 16, 16, 4


def r(*shape):
    return torch.randn(*shape)


def state_dict():
    sd = {}
    emb = r(VOCAB, HIDDEN).half()
    sd["model.embed_tokens.weight"] = emb
    sd["model.layers.0.self_attn.q_proj.weight"] = r(HIDDEN, HIDDEN).half()
    # k and v share one storage: the second view starts at a non-zero offset.
    kv = r(2 * KV, HIDDEN).half()
    sd["model.layers.0.self_attn.k_proj.weight"] = kv[:KV]
    sd["model.layers.0.self_attn.v_proj.weight"] = kv[KV:]
    sd["model.layers.0.self_attn.o_proj.weight"] = r(HIDDEN, HIDDEN).half()
    # Non-contiguous: a transpose (strides (1, 16)).
    sd["model.layers.0.mlp.gate_proj.weight"] = r(HIDDEN, FFN).half().t()
    sd["model.layers.0.mlp.up_proj.weight"] = r(FFN, HIDDEN).half()
    # Non-contiguous: every second column starting at column 1 (offset 1, strides (32, 2)).
    sd["model.layers.0.mlp.down_proj.weight"] = r(HIDDEN, 2 * FFN).half()[:, 1::2]
    sd["model.layers.0.input_layernorm.weight"] = (1 + 0.1 * r(HIDDEN)).bfloat16()
    sd["model.layers.0.post_attention_layernorm.weight"] = (1 + 0.1 * r(HIDDEN)).float()
    special = [65504.0, -65504.0, 6e-8, -0.0, float("inf"), float("-inf"), 1.0 / 3.0, 1e-3]
    sd["model.norm.weight"] = torch.tensor(special, dtype=torch.float16)
    sd["model.layers.0.self_attn.q_norm.weight"] = torch.tensor(
        [float("nan"), 1e-40, 3.4e38, -2.5, 0.0, 1.0, 2.0, 3.0], dtype=torch.float32)
    sd["model.layers.0.self_attn.k_norm.weight"] = r(HIDDEN).double()
    # Tied output head: the same tensor (and storage) as the embedding.
    sd["lm_head.weight"] = emb
    return sd


ST_DTYPE = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32",
            torch.float64: "F64", torch.int64: "I64"}


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, sd, metadata):
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, t in sd.items():
        b = raw_bytes(t)
        header[name] = {"dtype": ST_DTYPE[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def bits(t):
    """float32 bit patterns of t converted the way PyTorch converts it."""
    return t.detach().contiguous().float().reshape(-1).view(torch.int32).tolist()


def describe(sd, prefix="", out=None):
    """Flatten sd into names (in order), tensors and non-tensor values, keys joined with dots."""
    if out is None:
        out = {"names": [], "tensors": {}, "values": {}}
    for name, v in sd.items():
        key = prefix + str(name)
        if isinstance(v, torch.Tensor):
            out["names"].append(key)
            out["tensors"][key] = {"dtype": ST_DTYPE[v.dtype], "shape": list(v.shape),
                                   "stride": list(v.stride()), "offset": v.storage_offset(),
                                   "bits": [b & 0xFFFFFFFF for b in bits(v)]}
        elif isinstance(v, dict):
            describe(v, key + ".", out)
        elif isinstance(v, (list, tuple)):
            describe({i: x for i, x in enumerate(v)}, key + ".", out)
        else:
            out["values"][key] = v
    return out


def dump_json(path, obj):
    """Write obj as JSON with one tensor per line, so the file stays small and diffable."""
    lines = ["{"]
    for i, (set_name, d) in enumerate(obj.items()):
        lines.append(" %s: {" % json.dumps(set_name))
        lines.append("  \"names\": %s," % json.dumps(d["names"]))
        lines.append("  \"values\": %s," % json.dumps(d["values"], sort_keys=True))
        lines.append("  \"tensors\": {")
        items = list(d["tensors"].items())
        for j, (k, v) in enumerate(items):
            lines.append("   %s: %s%s" % (json.dumps(k), json.dumps(v), "," if j + 1 < len(items) else ""))
        lines.append("  }")
        lines.append(" }" + ("," if i + 1 < len(obj) else ""))
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def recompress(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            # A fixed timestamp keeps the output reproducible.
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, zin.read(info.filename))


class Tiny(torch.nn.Module):
    """A two-parameter module, so the resume file holds a real OrderedDict state dict."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 3, bias=False)
        self.norm = torch.nn.Parameter(torch.ones(4))

    def forward(self, x):
        return self.layer(x * self.norm)


def resume_file():
    torch.manual_seed(7)
    m = Tiny()
    opt = torch.optim.AdamW(m.parameters(), lr=5e-4, weight_decay=0.01)
    loss = (m(torch.randn(2, 4)) ** 2).sum()
    loss.backward()
    opt.step()
    # An OrderedDict with a _metadata attribute (pickled with BUILD), as module.state_dict() returns.
    model = copy.deepcopy(m).half().state_dict()
    return {"model": model, "optimizer": opt.state_dict(), "epoch": 1, "step": 42,
            "world_size": 1, "wandb_id": None}


def main():
    sd = state_dict()
    torch.save(sd, "model.pth")
    torch.save(sd, "proto4.pth", pickle_protocol=4)
    torch.save(sd, "legacy.pth", _use_new_zipfile_serialization=False)
    recompress("model.pth", "deflated.pth")
    write_safetensors("model.safetensors", sd, {"format": "pt"})
    # The safetensors package's tests check their writer byte for byte against this copy.
    write_safetensors("../../safetensors/testdata/python.safetensors", sd, {"format": "pt"})
    wrapped = resume_file()
    torch.save(wrapped, "wrapped.pth")
    expected = {"model": describe(sd), "wrapped": describe(wrapped)}
    dump_json("expected.json", expected)


if __name__ == "__main__":
    main()
