"""Post-training golden files (LoRA, DPO, distillation, reasoning SFT) for the
Go trainer, computed as MiniMind's trainers compute them (MINIMIND-POSTTRAIN
facts restated in the project's README and the docstrings below).

Usage:
    /usr/bin/python3 tools/torchref/gen_post_golden.py [OUTDIR]
        (default OUTDIR: native/testdata/post)

Cases: tiny3 (minimind3 dense) and tiny3-moe (minimind3 MoE, 4 experts,
top-1), hidden 32, 2 layers, 4 heads / 2 kv heads, head_dim 8, vocab 256.
Every folder OUTDIR/<stage>/<case> holds

    config.json, model.safetensors   the starting (policy/student) weights
    steps.json                       10 micro-batches (see each stage)
    steps_out.json                   per-micro-step losses, lrs, grad norms
                                     at optimizer steps, hyper-parameters
    after_10.safetensors             trained tensors after the 10 micro-steps
    grads.safetensors                the clipped gradient AdamW received at
                                     each of the 5 optimizer steps,
                                     "<step>/<name>" (step 0..4, every
                                     trained parameter)

Loop (all stages): accumulation 2, loss/2 before backward; after micro-steps
2, 4, ..., 10: clip_grad_norm_(trained params, 1.0), torch AdamW (0.9, 0.999,
eps 1e-8, weight decay 0.01), zero_grad; lr(t) = LR·(0.1 + 0.45·(1 + cos(π·t/10)))
set before micro-step t. MoE experts that get no token receive a zero gradient
(MiniMind adds 0·Σparams), so AdamW still decays them.

lora_all: as lora with adapters on every projection (q, k, v, o, gate, up,
         down; every expert of the MoE case; our --lora_targets) and B starting
         from N(0, 0.02), so every adapter's gradient is non-zero from step 1.
lora:    adapters on every square Linear (here q_proj and o_proj), rank 16,
         A ~ N(0, 0.02), B = 0, y = W·x + B·(A·x); base frozen; loss = SFT
         cross-entropy + aux. lora_init.safetensors holds the initial
         adapters (<module>.lora.A.weight [16, in], .lora.B.weight [out, 16]);
         after_10.safetensors the adapters after the run.
dpo:     steps.json rows {chosen_ids, chosen_labels, rejected_ids,
         rejected_labels} (P = 2 pairs, L = 12 tokens, labels -100 outside the
         assistant span); the model sees x = ids[:, :-1] for [chosen; rejected]
         concatenated, targets y = ids[:, 1:] where labels[:, 1:] != -100;
         logp = Σ masked log_softmax(logits)[y] per row; the reference is a
         frozen copy of the starting weights; d = (π_c − π_r) − (ref_c − ref_r);
         loss = mean(−log σ(β·d)) + aux, β = 0.15.
distill: student = the case's model, teacher = the other case's model
         (teacher.safetensors + teacher_config.json, eval, no grad); mask =
         labels[:, 1:] != -100; CE = Σ ce·mask / (Σ mask + 1e-8) (+ aux for a
         MoE student); KL = T²·Σ_rows Σ_v p_t·(log p_t − log_softmax(s/T)) /
         #masked rows, p_t = softmax(teacher/T); loss = α·CE + (1 − α)·KL,
         α = 0.5, T = 1.5.
reason:  weights w = 1 on labelled targets and 10 where the target id is one
         of the tag ids (25, 26: <think>, </think> in minimind3's tokenizer);
         loss = Σ ce·w / Σ mask + aux.
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import minimind_ref as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAD, BOS, EOS = 0, 1, 2
THINK_IDS = [25, 26]
B, T = 2, 12
N_STEPS, ACCUM = 10, 2
WD, BETAS, EPS, CLIP = 0.01, (0.9, 0.999), 1e-8, 1.0
RANK = 16
BETA = 0.15
ALPHA, TEMP = 0.5, 1.5
REASON_W = 10.0
LR = {"lora": 1e-3, "dpo": 1e-3, "distill": 5e-4, "reason": 5e-4}

ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
TRAIN = dict(hidden=32, layers=2, heads=4, kv_heads=2, vocab=256, max_pos=512, theta=1e6)
CASES = [
    ("tiny3", dict(style="minimind3", intermediate=48, eps=1e-6), 4001),
    ("tiny3-moe", dict(style="minimind3", intermediate=8, eps=1e-6, moe=dict(experts=4, topk=1, shared=0)), 4002),
]


def lr_at(base, t):
    return base * (0.1 + 0.45 * (1 + math.cos(math.pi * t / N_STEPS)))


def sft_row(g, vocab, think=False):
    """[bos, prompt..., span..., eos, pad...] with labels on the span (incl. eos)."""
    n = int(torch.randint(7, T + 1, (1,), generator=g))
    body = torch.randint(3, vocab, (n - 2,), generator=g).tolist()
    start = int(torch.randint(1, n - 3, (1,), generator=g))  # span starts at body index
    if think:
        for j in range(start, n - 2):
            if float(torch.rand((), generator=g)) < 0.35:
                body[j] = THINK_IDS[int(torch.randint(0, 2, (1,), generator=g))]
        body[0] = THINK_IDS[0]  # a tag in the prompt: carries no label, no weight
    ids = [BOS] + body + [EOS] + [PAD] * (T - n)
    labels = [x if 1 + start <= i < n else -100 for i, x in enumerate(ids)]
    return ids, labels


def sft_steps(g, vocab, think=False):
    out = []
    for _ in range(N_STEPS):
        rows = [sft_row(g, vocab, think) for _ in range(B)]
        out.append({"input_ids": [r[0] for r in rows], "labels": [r[1] for r in rows]})
    return out


def dpo_steps(g, vocab):
    out = []
    for _ in range(N_STEPS):
        c = [sft_row(g, vocab) for _ in range(B)]
        r = [sft_row(g, vocab) for _ in range(B)]
        out.append(
            {
                "chosen_ids": [x[0] for x in c],
                "chosen_labels": [x[1] for x in c],
                "rejected_ids": [x[0] for x in r],
                "rejected_labels": [x[1] for x in r],
            }
        )
    return out


def add_lora(model, rank, seed, targets=None, b_std=0.0):
    """MiniMind's apply_lora: every square Linear gets .lora (A, B); forward patched.

    With targets (projection names), those Linears instead (our --lora_targets);
    b_std > 0 starts B from N(0, b_std) instead of zeros.
    """
    g = torch.Generator().manual_seed(seed)
    mods = {}
    for name, mod in model.named_modules():
        if not isinstance(mod, torch.nn.Linear) or name.endswith(".lora.A") or name.endswith(".lora.B"):
            continue
        pick = mod.in_features == mod.out_features if targets is None else name.split(".")[-1] in targets
        if pick:
            A = torch.nn.Linear(mod.in_features, rank, bias=False)
            Bm = torch.nn.Linear(rank, mod.out_features, bias=False)
            with torch.no_grad():
                A.weight.copy_(torch.randn(A.weight.shape, generator=g) * 0.02)
                if b_std > 0:
                    Bm.weight.copy_(torch.randn(Bm.weight.shape, generator=g) * b_std)
                else:
                    Bm.weight.zero_()
            lora = torch.nn.Sequential()
            lora.A, lora.B = A, Bm
            mod.lora = lora
            orig = mod.forward

            def fwd(x, orig=orig, lora=lora):
                return orig(x) + lora.B(lora.A(x))

            mod.forward = fwd
            mods[name] = mod
    return mods


def lora_tensors(mods):
    out = {}
    for name, mod in mods.items():
        out[name + ".lora.A.weight"] = mod.lora.A.weight.detach().float().clone()
        out[name + ".lora.B.weight"] = mod.lora.B.weight.detach().float().clone()
    return out


def zero_missing(params):
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)


def seq_logp(logits, ids, labels):
    """Σ over masked targets of log_softmax(logits[:, :-1])[ids[:, 1:]] per row (x = ids[:, :-1])."""
    y = ids[:, 1:]
    mask = (labels[:, 1:] != -100).float()
    lp = torch.gather(F.log_softmax(logits.float(), dim=-1), 2, y.unsqueeze(-1)).squeeze(-1)
    return (lp * mask).sum(dim=1)


def run(stage, model, named, step_loss, steps, base_lr, grads):
    """The 10 micro-steps; named: [(name, param)] trained; grads receives the
    clipped gradient of every optimizer step as "<step>/<name>"."""
    names, params = [n for n, _ in named], [p for _, p in named]
    opt = torch.optim.AdamW(params, lr=base_lr, betas=BETAS, eps=EPS, weight_decay=WD, foreach=False)
    losses, lrs, norms = [], [], []
    for t in range(1, N_STEPS + 1):
        lr = lr_at(base_lr, t)
        for grp in opt.param_groups:
            grp["lr"] = lr
        loss = step_loss(steps[t - 1])
        (loss / ACCUM).backward()
        losses.append(loss.item())
        lrs.append(lr)
        if t % ACCUM == 0:
            zero_missing(params)
            norms.append(torch.nn.utils.clip_grad_norm_(params, CLIP).item())
            for n, p in zip(names, params):
                grads[f"{t // ACCUM - 1}/{n}"] = p.grad.detach().float().contiguous().clone()
            opt.step()
            opt.zero_grad(set_to_none=True)
    return {
        "stage": stage,
        "losses": losses,
        "lrs": lrs,
        "grad_norms": norms,
        "base_lr": base_lr,
        "accumulation_steps": ACCUM,
        "weight_decay": WD,
        "betas": list(BETAS),
        "eps": EPS,
        "grad_clip": CLIP,
        "total_steps": N_STEPS,
        "lora_rank": RANK,
        "beta": BETA,
        "alpha": ALPHA,
        "temperature": TEMP,
        "think_ids": THINK_IDS,
        "think_weight": REASON_W,
    }


def write_base(d, cfg_dict, model):
    cases.write_json(os.path.join(d, "config.json"), cfg_dict, indent=2)
    cases.save_weights(os.path.join(d, "model.safetensors"), cases.weights_f32(model))


def gen_lora(outdir, name, cfg_dict, seed, stage="lora", targets=None, b_std=0.0):
    d = cases.ensure_dir(os.path.join(outdir, stage, name))
    model = cases.build_model(cfg_dict, seed)
    model.train()
    write_base(d, cfg_dict, model)
    for p in model.parameters():
        p.requires_grad_(False)
    mods = add_lora(model, RANK, seed + 7, targets, b_std)
    st.save(os.path.join(d, "lora_init.safetensors"), lora_tensors(mods))
    g = torch.Generator().manual_seed(seed + 500)
    steps = sft_steps(g, cfg_dict["vocab_size"])
    cases.write_json(os.path.join(d, "steps.json"), steps)
    named = [(n, p) for n, p in model.named_parameters() if "lora" in n]
    for _, p in named:
        p.requires_grad_(True)

    def loss_fn(s):
        logits, aux = model(torch.tensor(s["input_ids"]))
        return ref.causal_lm_loss(logits, torch.tensor(s["labels"])) + aux

    grads = {}
    out = run(stage, model, named, loss_fn, steps, LR["lora"], grads)
    cases.save_weights(os.path.join(d, "grads.safetensors"), grads)
    cases.write_json(os.path.join(d, "steps_out.json"), out, indent=2)
    st.save(os.path.join(d, "after_10.safetensors"), lora_tensors(mods))
    # the trained adapters' effect: logits of the first micro-batch with adapters
    with torch.no_grad():
        logits, _ = model(torch.tensor(steps[0]["input_ids"]))
    st.save(os.path.join(d, "logits_after.safetensors"), {"logits": logits.float().contiguous()})
    print(f"{stage}/{name}: losses {out['losses'][0]:.5f} -> {out['losses'][-1]:.5f}")


def gen_dpo(outdir, name, cfg_dict, seed):
    d = cases.ensure_dir(os.path.join(outdir, "dpo", name))
    model = cases.build_model(cfg_dict, seed)
    model.train()
    write_base(d, cfg_dict, model)
    refm = cases.build_model(cfg_dict, seed)
    refm.eval()
    for p in refm.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed + 600)
    steps = dpo_steps(g, cfg_dict["vocab_size"])
    cases.write_json(os.path.join(d, "steps.json"), steps)

    def loss_fn(s):
        ids = torch.tensor(s["chosen_ids"] + s["rejected_ids"])  # [2P, L]
        labels = torch.tensor(s["chosen_labels"] + s["rejected_labels"])
        x = ids[:, :-1]
        with torch.no_grad():
            ref_logits, _ = refm(x)
            ref_lp = seq_logp(ref_logits, ids, labels)
        logits, aux = model(x)
        lp = seq_logp(logits, ids, labels)
        P = ids.shape[0] // 2
        dlt = (lp[:P] - lp[P:]) - (ref_lp[:P] - ref_lp[P:])
        return -F.logsigmoid(BETA * dlt).mean() + aux

    grads = {}
    out = run("dpo", model, list(model.named_parameters()), loss_fn, steps, LR["dpo"], grads)
    cases.save_weights(os.path.join(d, "grads.safetensors"), grads)
    cases.write_json(os.path.join(d, "steps_out.json"), out, indent=2)
    cases.save_weights(os.path.join(d, "after_10.safetensors"), cases.weights_f32(model))
    print(f"dpo/{name}: losses {out['losses'][0]:.5f} -> {out['losses'][-1]:.5f}")


def gen_distill(outdir, name, cfg_dict, seed, teacher_cfg, teacher_seed):
    d = cases.ensure_dir(os.path.join(outdir, "distill", name))
    model = cases.build_model(cfg_dict, seed)
    model.train()
    write_base(d, cfg_dict, model)
    teacher = cases.build_model(teacher_cfg, teacher_seed)
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    cases.write_json(os.path.join(d, "teacher_config.json"), teacher_cfg, indent=2)
    cases.save_weights(os.path.join(d, "teacher.safetensors"), cases.weights_f32(teacher))
    g = torch.Generator().manual_seed(seed + 700)
    steps = sft_steps(g, cfg_dict["vocab_size"])
    cases.write_json(os.path.join(d, "steps.json"), steps)
    V = cfg_dict["vocab_size"]

    def loss_fn(s):
        ids = torch.tensor(s["input_ids"])
        labels = torch.tensor(s["labels"])
        mask = (labels[:, 1:] != -100).float()
        logits, aux = model(ids)
        s_logits = logits[:, :-1]
        with torch.no_grad():
            t_logits, _ = teacher(ids)
            t_logits = t_logits[:, :-1, :V]
        ce = F.cross_entropy(s_logits.reshape(-1, V), ids[:, 1:].reshape(-1), reduction="none")
        ce = (ce * mask.reshape(-1)).sum() / (mask.sum() + 1e-8)
        if cfg_dict.get("use_moe"):
            ce = ce + aux
        sel = mask.reshape(-1) == 1
        sl = s_logits.reshape(-1, V)[sel]
        tl = t_logits.reshape(-1, V)[sel]
        kl = F.kl_div(F.log_softmax(sl / TEMP, dim=-1), F.softmax(tl / TEMP, dim=-1), reduction="batchmean")
        return ALPHA * ce + (1 - ALPHA) * TEMP * TEMP * kl

    grads = {}
    out = run("distill", model, list(model.named_parameters()), loss_fn, steps, LR["distill"], grads)
    cases.save_weights(os.path.join(d, "grads.safetensors"), grads)
    cases.write_json(os.path.join(d, "steps_out.json"), out, indent=2)
    cases.save_weights(os.path.join(d, "after_10.safetensors"), cases.weights_f32(model))
    print(f"distill/{name}: losses {out['losses'][0]:.5f} -> {out['losses'][-1]:.5f}")


def gen_reason(outdir, name, cfg_dict, seed):
    d = cases.ensure_dir(os.path.join(outdir, "reason", name))
    model = cases.build_model(cfg_dict, seed)
    model.train()
    write_base(d, cfg_dict, model)
    g = torch.Generator().manual_seed(seed + 800)
    steps = sft_steps(g, cfg_dict["vocab_size"], think=True)
    cases.write_json(os.path.join(d, "steps.json"), steps)
    V = cfg_dict["vocab_size"]

    def loss_fn(s):
        ids = torch.tensor(s["input_ids"])
        labels = torch.tensor(s["labels"])
        logits, aux = model(ids)
        y = labels[:, 1:]
        mask = (y != -100).float()
        ce = F.cross_entropy(logits[:, :-1].reshape(-1, V), y.reshape(-1), ignore_index=-100, reduction="none").view(y.shape)
        w = mask.clone()
        for tid in THINK_IDS:
            w[(y == tid) & (mask == 1)] = REASON_W
        return (ce * w).sum() / mask.sum() + aux

    grads = {}
    out = run("reason", model, list(model.named_parameters()), loss_fn, steps, LR["reason"], grads)
    cases.save_weights(os.path.join(d, "grads.safetensors"), grads)
    cases.write_json(os.path.join(d, "steps_out.json"), out, indent=2)
    cases.save_weights(os.path.join(d, "after_10.safetensors"), cases.weights_f32(model))
    print(f"reason/{name}: losses {out['losses'][0]:.5f} -> {out['losses'][-1]:.5f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=os.path.join(REPO, "native", "testdata", "post"))
    a = ap.parse_args()
    cases.setup_torch()
    cases.ensure_dir(a.outdir)
    with open(os.path.join(a.outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(
            "# Post-training golden files\n\nGenerated by `tools/torchref/gen_post_golden.py`; do not edit by hand. "
            "The script's docstring describes every file and each stage's loss.\n"
        )
    cfgs = [(n, cases.config_dict(**{**TRAIN, **kw}), s) for n, kw, s in CASES]
    for i, (name, cfg, seed) in enumerate(cfgs):
        gen_lora(a.outdir, name, cfg, seed)
        gen_lora(a.outdir, name, cfg, seed, "lora_all", ALL_TARGETS, 0.02)
        gen_dpo(a.outdir, name, cfg, seed)
        tname, tcfg, tseed = cfgs[1 - i]
        gen_distill(a.outdir, name, cfg, seed, tcfg, tseed)
        gen_reason(a.outdir, name, cfg, seed)


if __name__ == "__main__":
    main()
