"""PyTorch CPU training speed, the anchor for `mmtrain bench`.

Usage:
    /usr/bin/python3 tools/torchref/bench_train.py [--preset minimind2-small]
        [--batch_size 4] [--max_seq_len 256] [--steps 5] [--warmup 1] [--threads 2]

Each step is MiniMind's training step on the CPU (fp32, as MiniMind's
trainers run without autocast on the CPU): forward of the project's plain
PyTorch reference model (minimind_ref.py), cross-entropy of logits[:, :-1]
against labels[:, 1:] plus the MoE aux loss, backward,
clip_grad_norm_(1.0), torch.optim.AdamW (lr 5e-4, betas 0.9/0.999, eps
1e-8, weight decay 0.01) and zero_grad — on random token ids (labels = ids),
the same shapes and the same number of threads as the Go side. It prints one
line: tokens/s over all timed steps and of the fastest step (the least
disturbed on a shared machine), the CPU time per step (all threads; less
sensitive to other load than wall time), and a JSON line for scripts.

Threads: OMP_WAIT_POLICY=PASSIVE and OMP_NUM_THREADS/OPENBLAS_NUM_THREADS =
--threads are set unless already in the environment (see set_thread_env;
without passive waiting Debian's torch trains about 4x slower on 2 cores).
"""

import argparse
import json
import math
import os
import sys
import time

# torch and its modules are imported in main(), after the thread settings
# are in the environment: the OpenMP and OpenBLAS runtimes read them once,
# when they load.


def ffn2(hidden):
    """MiniMind2's intermediate size: 64·ceil(int(hidden·8/3)/64)."""
    return 64 * ((hidden * 8 // 3 + 63) // 64)


def ffn3(hidden):
    """minimind3's intermediate size: 64·ceil(hidden·π/64)."""
    return 64 * math.ceil(hidden * math.pi / 64)


# The architectures of the Go presets (model/config.go).
PRESETS = {
    "minimind2-small": dict(style="minimind2", hidden=512, layers=8, heads=8, kv_heads=2, intermediate=ffn2(512), eps=1e-5),
    "minimind2": dict(style="minimind2", hidden=768, layers=16, heads=8, kv_heads=2, intermediate=ffn2(768), eps=1e-5),
    "minimind2-moe": dict(
        style="minimind2", hidden=640, layers=8, heads=8, kv_heads=2, intermediate=ffn2(640), eps=1e-5,
        moe=dict(experts=4, topk=2, shared=1),
    ),
    "minimind3": dict(style="minimind3", hidden=768, layers=8, heads=8, kv_heads=4, intermediate=ffn3(768), eps=1e-6),
    "zero": dict(style="minimind2", hidden=256, layers=4, heads=4, kv_heads=1, intermediate=ffn2(256), eps=1e-5),
    "tiny": dict(style="minimind2", hidden=64, layers=2, heads=4, kv_heads=2, intermediate=ffn2(64), eps=1e-5),
}


def set_thread_env(threads):
    """Thread settings that let PyTorch use the cores well.

    Debian's torch runs element-wise ops on OpenMP threads and matrix
    products on OpenBLAS's own threads. With OpenMP's default (active)
    waiting, its idle threads spin while OpenBLAS works and the two fight for
    the same cores: a minimind2-small step measured about 4x slower on 2
    cores. Passive waiting removes that; values already in the environment
    are kept.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="minimind2-small", choices=sorted(PRESETS))
    ap.add_argument("--batch_size", type=int, default=4)
    ap.add_argument("--max_seq_len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    set_thread_env(a.threads)
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import cases
    import minimind_ref as ref

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg_dict = cases.config_dict(vocab=6400, max_pos=32768, theta=1e6, **PRESETS[a.preset])
    model = cases.build_model(cfg_dict, a.seed)
    model.train()
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    B, T = a.batch_size, a.max_seq_len

    def step():
        ids = torch.randint(3, 6400, (B, T))  # [B,T]
        logits, aux = model(ids)  # [B,T,V]
        loss = ref.causal_lm_loss(logits, ids) + aux
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    loss = 0.0
    cpu0 = time.process_time()
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / a.steps
    el = sum(times)
    tps = B * T * a.steps / el
    best = B * T / min(times)
    print(
        f"pytorch {torch.__version__} {a.preset} batch {B}x{T}, {torch.get_num_threads()} threads: "
        f"{tps:.1f} tokens/s, best step {best:.1f} tokens/s ({el / a.steps:.3f} s/step, CPU {cpu:.3f} s/step, "
        f"{a.steps} steps, last loss {loss:.4f})"
    )
    env = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(json.dumps({"tokens_per_s": tps, "best_tokens_per_s": best, "s_per_step": el / a.steps, "cpu_s_per_step": cpu,
                      "threads": torch.get_num_threads(), "env": env}))


if __name__ == "__main__":
    main()
