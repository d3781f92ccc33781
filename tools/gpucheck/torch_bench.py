"""PyTorch speed anchor for the CUDA engine: MiniMind's training step.

Usage (run.sh calls it; the GPU machine's PyTorch):
    python3 tools/gpucheck/torch_bench.py --mode eager   --out eager.json
    python3 tools/gpucheck/torch_bench.py --mode compile --out compile.json
    python3 tools/gpucheck/torch_bench.py --device cpu --preset tiny --batch 2 --seq 32 --steps 2   # a smoke test

The model is MiniMind's architecture written as MiniMind writes it (RMSNorm
in fp32, RoPE in the rotate_half layout, grouped-query attention through
F.scaled_dot_product_attention with is_causal — MiniMind's flash path —,
SwiGLU feed-forward, tied embeddings), and the step is MiniMind's
train_pretrain.py step: bf16 autocast, cross-entropy of logits[:, :-1]
against labels[:, 1:] (ignore_index -100), backward, clip_grad_norm_(1.0),
torch.optim.AdamW (lr 5e-4, β 0.9/0.999, eps 1e-8, weight decay 0.01) on fp32
master weights, zero_grad(set_to_none=True). Inputs are random token ids
(labels = ids), the shapes those of the Go benchmark.

It prints one line and writes a JSON object (name, tokens_per_s,
step_ms_median, peak_bytes = torch.cuda.max_memory_allocated over the timed
steps, loss_first, loss_last, note) that gpucheck puts in its table.
"""

import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The Go presets (model/config.go).
PRESETS = {
    "minimind2-small": dict(hidden=512, layers=8, heads=8, kv_heads=2, eps=1e-5),
    "minimind2": dict(hidden=768, layers=16, heads=8, kv_heads=2, eps=1e-5),
    "zero": dict(hidden=256, layers=4, heads=4, kv_heads=1, eps=1e-5),
    "tiny": dict(hidden=64, layers=2, heads=4, kv_heads=2, eps=1e-5),
}
VOCAB, THETA = 6400, 1e6


def ffn_size(hidden):
    """MiniMind2's intermediate size: 64·ceil(int(hidden·8/3)/64)."""
    return 64 * ((hidden * 8 // 3 + 63) // 64)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x)


def rope_tables(head_dim, n):
    freqs = 1.0 / (THETA ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
    t = torch.arange(n).float()
    f = torch.outer(t, freqs)
    cos = torch.cat([torch.cos(f), torch.cos(f)], dim=-1)
    sin = torch.cat([torch.sin(f), torch.sin(f)], dim=-1)
    return cos, sin


def rotate_half(x):
    return torch.cat((-x[..., x.shape[-1] // 2:], x[..., : x.shape[-1] // 2]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.kvh = c["heads"], c["kv_heads"]
        self.hd = c["hidden"] // self.h
        d = c["hidden"]
        self.q_proj = nn.Linear(d, self.h * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.kvh * self.hd, bias=False)
        self.o_proj = nn.Linear(self.h * self.hd, d, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd)
        k = self.k_proj(x).view(b, t, self.kvh, self.hd)
        v = self.v_proj(x).view(b, t, self.kvh, self.hd)
        cos, sin = cos[:t].unsqueeze(1), sin[:t].unsqueeze(1)  # [t, 1, hd]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kvh
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if rep > 1:  # repeat_kv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # PyTorch < 2.0: MiniMind's non-flash path
            s = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)
            s = s + torch.full((t, t), float("-inf"), device=x.device).triu(1)
            o = F.softmax(s.float(), dim=-1).type_as(q) @ v
        return self.o_proj(o.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, f = c["hidden"], ffn_size(c["hidden"])
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden"], c["eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden"], c["eps"])
        self.mlp = FeedForward(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class MiniMind(nn.Module):
    def __init__(self, c, max_pos):
        super().__init__()
        self.embed_tokens = nn.Embedding(VOCAB, c["hidden"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["layers"]))
        self.norm = RMSNorm(c["hidden"], c["eps"])
        self.lm_head = nn.Linear(c["hidden"], VOCAB, bias=False)
        self.embed_tokens.weight = self.lm_head.weight  # tied, as MiniMind ties them (the Linear's init)
        cos, sin = rope_tables(c["hidden"] // c["heads"], max_pos)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin)
        return self.lm_head(self.norm(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["eager", "compile"], default="eager")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="minimind2-small")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (torch.compile compiles here)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default="", help="JSON result file")
    args = ap.parse_args()

    name = "torch " + args.mode
    result = dict(name=name, tokens_per_s=0, step_ms_median=0, peak_bytes=0, loss_first=0, loss_last=0, note="")
    dev = torch.device(args.device)
    try:
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("no CUDA device visible to PyTorch")
        torch.manual_seed(42)
        model = MiniMind(PRESETS[args.preset], args.seq).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        fwd = model
        if args.mode == "compile":
            if not hasattr(torch, "compile"):
                raise RuntimeError(f"torch {torch.__version__} has no torch.compile")
            fwd = torch.compile(model)
        gen = torch.Generator(device="cpu").manual_seed(1)
        batches = [torch.randint(3, VOCAB, (args.batch, args.seq), generator=gen).to(dev) for _ in range(4)]

        def step(ids):
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16):
                logits = fwd(ids)
                loss = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB).float(), ids[:, 1:].reshape(-1),
                                       ignore_index=-100)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return loss

        def sync():
            if dev.type == "cuda":
                torch.cuda.synchronize()

        losses, times = [], []
        t0 = time.perf_counter()
        for i in range(args.warmup):
            losses.append(step(batches[i % len(batches)]).item())
        sync()
        warm_s = time.perf_counter() - t0
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        for i in range(args.steps):
            t0 = time.perf_counter()
            loss = step(batches[i % len(batches)])
            sync()
            times.append(time.perf_counter() - t0)
            losses.append(loss.item())
        med = statistics.median(times)
        result.update(tokens_per_s=args.batch * args.seq / med, step_ms_median=med * 1e3, loss_first=losses[0],
                      loss_last=losses[-1])
        if dev.type == "cuda":
            result["peak_bytes"] = torch.cuda.max_memory_allocated()
            result["note"] = f"{torch.cuda.get_device_name()}, torch {torch.__version__}, warm-up {warm_s:.1f} s"
        else:
            result["note"] = f"cpu, torch {torch.__version__}"
        if not all(math.isfinite(x) for x in losses):
            raise RuntimeError(f"non-finite loss: {losses}")
        print(f"{name}: {args.preset} {args.batch}×{args.seq}: median step {med * 1e3:.1f} ms, "
              f"{result['tokens_per_s']:.0f} tokens/s, peak {result['peak_bytes'] / 2**30:.2f} GiB, "
              f"loss {losses[0]:.4f} → {losses[-1]:.4f} ({result['note']})")
    except Exception as e:  # the table shows why this row is missing
        result["tokens_per_s"] = 0
        result["note"] = f"failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        print(f"{name}: {result['note']}", file=sys.stderr)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["tokens_per_s"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
