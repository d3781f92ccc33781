"""Write MiniMind-style native checkpoints (torch.save of an fp16 state dict)
from the forward goldens, for model/checkpoint's tests.

    /usr/bin/python3 tools/torchref/gen_pth.py

For the golden cases `tiny` (MiniMind2) and `tiny3` (minimind3) it writes into
model/checkpoint/testdata/<case>/:
  - model.pth          torch.save({name: tensor.half()}), as MiniMind saves
                       out/{stage}_{hidden}.pth (tiny3's keys carry the
                       `_orig_mod.` prefix torch.compile adds)
  - model.safetensors  the same fp16 values, hand-written safetensors (F16)
  - config.json        copied from the golden
The Go test loads both and checks the tensors are identical, and that the
.pth alone (no config.json) yields the same architecture for tiny3.
"""

import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    for case in ("tiny", "tiny3"):
        src = os.path.join(ROOT, "model", "testdata", "golden", case)
        dst = os.path.join(ROOT, "model", "checkpoint", "testdata", case)
        os.makedirs(dst, exist_ok=True)
        tensors = safetensors_io.load(os.path.join(src, "model.safetensors"))
        half = {k: v.half().contiguous() for k, v in sorted(tensors.items())}
        prefix = "_orig_mod." if case == "tiny3" else ""
        torch.save({prefix + k: v for k, v in half.items()}, os.path.join(dst, "model.pth"))
        safetensors_io.save(os.path.join(dst, "model.safetensors"), half)
        shutil.copy(os.path.join(src, "config.json"), os.path.join(dst, "config.json"))
        print(case, "->", dst)


if __name__ == "__main__":
    main()
