"""Reinforcement-learning golden files (GRPO, CISPO, PPO actor and critic,
agent) for the Go trainer: one update on fixed rollouts, computed as
MiniMind's train_grpo.py, train_ppo.py and train_agent.py compute it.

Usage:
    /usr/bin/python3 tools/torchref/gen_rl_golden.py [OUTDIR]
        (default OUTDIR: native/testdata/rl)

Cases: tiny3 (minimind3 dense) and tiny3-moe (minimind3 MoE, 4 experts,
top-1), hidden 32, 2 layers, 4 heads / 2 kv heads, vocab 256. Every folder
OUTDIR/<case> holds

    config.json, model.safetensors     the starting policy (= the reference)
    <stage>_rollouts.jsonl             the fixed rollouts, one completion a
                                       line: {"prompt", "completion",
                                       "reward"} (+ "mask" for the agent)
    <stage>_out.json                   losses and statistics per optimizer
                                       step, hyper-parameters
    <stage>_after.safetensors          the policy after the update
    ppo_critic_init.safetensors        the critic's value head at the start
                                       (value_head.weight [1, D], .bias [1])
    ppo_critic_after.safetensors       critic body and head after the update
    <stage>_grads.safetensors          the clipped gradient AdamW received at
    ppo_critic_grads.safetensors       every optimizer step that had a loss,
                                       "<step>/<name>" (PPO's early-stopped
                                       steps, whose loss is 0·loss, have
                                       zero gradients and are left out)

Semantics (MiniMind's, restated):
- Rows (grpo, cispo, ppo): prompts left-padded with 0 to the longest,
  completions filled with eos (2) to the longest (MiniMind's generate forces
  eos in finished rows). Attention never reaches the left padding (the
  attention mask is ids != pad; here doc ids 0 on the padding and 1 on the
  rest, which gives the same outputs: padding rows only see padding, whose
  states are all equal). Positions are absolute (not shifted for padding).
- log-probabilities: log_softmax(logits[:, :-1]).gather(ids[:, 1:]) at
  positions P-1 .. P+R-2. The rollout policy's log-probabilities ("old")
  are recomputed from the starting policy without gradient, as the rollout
  engine does right after generation; the reference is a frozen copy.
- mask: completion tokens up to and including the first eos (all if none).
- KL (k3): d = ref - logp, exp(d) - d - 1.
- grpo/cispo: A = (r - mean_group)/(std_pop_group + 1e-4), G = 3 per
  prompt, 2 prompts. grpo token loss -(min(ratio·A, clip(ratio, 1±ε)·A) -
  β·KL); cispo -(stopgrad(min(ratio, ε_high))·A·logp - β·KL); per row
  Σ(loss·mask)/max(Σmask, 1), mean over rows, + aux; one optimizer step.
- ppo: one completion per prompt, 4 prompts; critic = a copy of the policy
  body plus value_head = Linear(D, 1) (torch default init), value =
  value_head(norm(final_norm(h))) (the final norm applied twice). Token
  reward = r at the last masked position; values masked to 0 beyond it;
  GAE (γ, λ) over all R positions; returns = A + V; A whitened over the
  batch's masked tokens. ppo_update_iters passes, each over minibatches of
  the given permutation: approx_kl = masked mean ½(logp - old)²; over
  early_stop_kl → this and later minibatches get loss ×0 (steps still run)
  and no further pass; policy = masked mean max(-A·ratio, -A·clip(ratio))
  + kl_coef·masked mean KL; value = ½·masked mean max((V - R)², (clip(V,
  V_old ± cliprange_value) - R)²); loss = policy + vf_coef·value + aux;
  actor and critic clipped separately (1.0) and stepped each minibatch;
  their lrs follow CosineAnnealingLR(T_max, eta_min = lr/10).
- agent: ids = prompt + completion (tool results inside the completion have
  mask 0) cut from the left to max_total_len (all rows here are longer, so
  no padding); completion mask = mask[:, 1:] cut after the first trained
  eos; per-row mean over rows with at least one trained token; G = 4.
Optimizer: torch AdamW (0.9, 0.999, eps 1e-8, weight decay 0.01), clip 1.0.
"""

import argparse
import copy
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAD, EOS = 0, 2
WD, BETAS, EPS, CLIP = 0.01, (0.9, 0.999), 1e-8, 1.0
LR = 1e-2
CRITIC_LR = 2e-2
T_MAX = 3
BETA, EPSILON, EPSILON_HIGH = 0.1, 0.2, 5.0
KL_COEF, VF_COEF, GAMMA, LAMBDA, CLIP_V = 0.02, 0.5, 1.0, 0.95, 0.2
PPO_ITERS, MINI_BATCH = 2, 2
EARLY_STOP_KL = 0.3
MAX_TOTAL = 14

TRAIN = dict(hidden=32, layers=2, heads=4, kv_heads=2, vocab=256, max_pos=512, theta=1e6)
CASES = [
    ("tiny3", dict(style="minimind3", intermediate=48, eps=1e-6), 5001),
    ("tiny3-moe", dict(style="minimind3", intermediate=8, eps=1e-6, moe=dict(experts=4, topk=1, shared=0)), 5002),
]


def randint(g, lo, hi):
    return int(torch.randint(lo, hi, (1,), generator=g))


def toks(g, n, vocab):
    return torch.randint(3, vocab, (n,), generator=g).tolist()


def make_rollouts(g, vocab, prompts, G, r_max):
    out = []
    for _ in range(prompts):
        p = toks(g, randint(g, 3, 7), vocab)
        for j in range(G):
            if len(out) % 3 == 0:  # some completions run to the limit without eos
                c = toks(g, r_max, vocab)
            else:
                c = toks(g, randint(g, 1, r_max - 1), vocab) + [EOS]
            out.append({"prompt": p, "completion": c, "reward": round(float(torch.randn((), generator=g)), 6)})
    return out


def agent_rollouts(g, vocab, prompts, G):
    out = []
    for i in range(prompts):
        p = toks(g, randint(g, 6, 9), vocab)
        for j in range(G):
            c, m = [], []
            for turn in range(randint(g, 1, 4)):
                gen = toks(g, randint(g, 2, 5), vocab)
                c += gen
                m += [1] * len(gen)
                obs = toks(g, randint(g, 2, 4), vocab) + [EOS]  # a tool result, <|im_end|> included
                c += obs
                m += [0] * len(obs)
            gen = toks(g, randint(g, 1, 4), vocab)
            if i == 0 and j == 1:
                gen = gen[:1] + [EOS] + gen[1:] + toks(g, 2, vocab)  # a trained eos cuts the rest
            c += gen
            m += [1] * len(gen)
            if i == 1 and j == 2:
                m = [0] * len(m)  # no trained token after the left cut
            while len(p) + len(c) <= MAX_TOTAL:
                c += toks(g, 1, vocab)
                m += [1]
            out.append({"prompt": p, "completion": c, "reward": round(float(torch.randn((), generator=g)), 6), "mask": m})
    return out


def write_rollouts(path, rs):
    with open(path, "w", encoding="utf-8") as f:
        for r in rs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


def completion_rows(rs):
    """ids [B, P+R], doc ids [B, P+R], P, R, completion ids [B, R]."""
    P = max(len(r["prompt"]) for r in rs)
    R = max(len(r["completion"]) for r in rs)
    ids, doc = [], []
    for r in rs:
        off = P - len(r["prompt"])
        c = r["completion"] + [EOS] * (R - len(r["completion"]))
        ids.append([PAD] * off + r["prompt"] + c)
        doc.append([0] * off + [1] * (P - off + R))
    ids = torch.tensor(ids)
    return ids, torch.tensor(doc), P, R, ids[:, P:]


def eos_mask(comp):
    """tokens up to and including the first eos (all if none): [B, R]."""
    R = comp.shape[1]
    is_eos = comp == EOS
    idx = torch.full((comp.shape[0],), R, dtype=torch.long)
    has = is_eos.any(dim=1)
    idx[has] = is_eos.int().argmax(dim=1)[has]
    return (torch.arange(R)[None, :] <= idx[:, None]).float()


def token_logps(model, ids, doc):
    logits, aux = model(ids, doc_ids=doc)
    lp = torch.gather(F.log_softmax(logits[:, :-1].float(), dim=-1), 2, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return lp, aux


def group_adv(rewards, G):
    g = rewards.view(-1, G)
    mean = g.mean(dim=1).repeat_interleave(G)
    std = g.std(dim=1, unbiased=False).repeat_interleave(G)
    return (rewards - mean) / (std + 1e-4)


def kl3(ref, lp):
    d = ref - lp
    return torch.exp(d) - d - 1


def group_token_loss(kind, lp, old, ref, adv):
    kl = kl3(ref, lp)
    ratio = torch.exp(lp - old)
    if kind == "cispo":
        c = torch.clamp(ratio, max=EPSILON_HIGH).detach()
        return -(c * adv.unsqueeze(1) * lp - BETA * kl)
    l1 = ratio * adv.unsqueeze(1)
    l2 = torch.clamp(ratio, 1 - EPSILON, 1 + EPSILON) * adv.unsqueeze(1)
    return -(torch.min(l1, l2) - BETA * kl)


def new_opt(params, lr):
    opt = torch.optim.AdamW(params, lr=lr, betas=BETAS, eps=EPS, weight_decay=WD, foreach=False)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=T_MAX, eta_min=lr / 10)
    return opt, sched


def zero_missing(params):
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)


def opt_step(params, opt, sched, rec=None, names=None, step=0):
    zero_missing(params)
    norm = torch.nn.utils.clip_grad_norm_(params, CLIP).item()
    if rec is not None:
        for n, p in zip(names, params):
            rec[f"{step}/{n}"] = p.grad.detach().float().contiguous().clone()
    lr = opt.param_groups[0]["lr"]
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return norm, lr


def hyper():
    return {
        "lr": LR,
        "critic_lr": CRITIC_LR,
        "t_max": T_MAX,
        "weight_decay": WD,
        "betas": list(BETAS),
        "eps": EPS,
        "grad_clip": CLIP,
        "beta": BETA,
        "epsilon": EPSILON,
        "epsilon_high": EPSILON_HIGH,
        "kl_coef": KL_COEF,
        "vf_coef": VF_COEF,
        "gamma": GAMMA,
        "lam": LAMBDA,
        "cliprange_value": CLIP_V,
        "ppo_update_iters": PPO_ITERS,
        "mini_batch_size": MINI_BATCH,
        "early_stop_kl": EARLY_STOP_KL,
        "max_total_len": MAX_TOTAL,
    }


def frozen(model):
    r = copy.deepcopy(model)
    r.eval()
    for p in r.parameters():
        p.requires_grad_(False)
    return r


def gen_group(d, stage, kind, model0, rs, G, agent=False):
    model = copy.deepcopy(model0)
    model.train()
    refm = frozen(model0)
    write_rollouts(os.path.join(d, f"{stage}_rollouts.jsonl"), rs)
    if agent:
        rows, masks = [], []
        for r in rs:
            ids = r["prompt"] + r["completion"]
            m = [0] * len(r["prompt"]) + r["mask"]
            ids, m = ids[-MAX_TOTAL:], m[-MAX_TOTAL:]
            rows.append(ids)
            masks.append(m)
        ids = torch.tensor(rows)
        doc = (ids != PAD).long()
        cm = torch.tensor(masks, dtype=torch.float32)[:, 1:]
        is_eos = (ids[:, 1:] == EOS) & cm.bool()
        idx = torch.full((cm.shape[0],), cm.shape[1] - 1, dtype=torch.long)
        has = is_eos.any(dim=1)
        idx[has] = is_eos.int().argmax(dim=1)[has]
        cm = cm * (torch.arange(cm.shape[1])[None, :] <= idx[:, None]).float()
        sl = slice(0, None)
    else:
        ids, doc, P, R, comp = completion_rows(rs)
        cm = eos_mask(comp)
        sl = slice(P - 1, None)
    rewards = torch.tensor([r["reward"] for r in rs], dtype=torch.float32)
    adv = group_adv(rewards, G)
    with torch.no_grad():
        old, _ = token_logps(model, ids, doc)
        ref, _ = token_logps(refm, ids, doc)
    old, ref = old[:, sl], ref[:, sl]
    names, params = zip(*model.named_parameters())
    params = list(params)
    opt, sched = new_opt(params, LR)
    lp, aux = token_logps(model, ids, doc)
    lp = lp[:, sl]
    ptl = group_token_loss(kind, lp, old, ref, adv)
    counts = cm.sum(dim=1)
    if agent:
        valid = counts > 0
        pol = ((ptl * cm).sum(dim=1)[valid] / counts[valid].clamp(min=1)).mean()
    else:
        pol = ((ptl * cm).sum(dim=1) / counts.clamp(min=1)).mean()
    loss = pol + aux
    loss.backward()
    grads = {}
    norm, lr = opt_step(params, opt, sched, grads, names)
    cases.save_weights(os.path.join(d, f"{stage}_grads.safetensors"), grads)
    kl = (((ref - lp) * cm).sum() / counts.sum().clamp(min=1)).item()
    out = {
        "stage": stage,
        "loss_type": kind,
        "num_generations": G,
        "losses": [loss.item()],
        "policy_losses": [pol.item()],
        "aux": [float(aux)],
        "grad_norms": [norm],
        "lrs": [lr],
        "advantages": adv.tolist(),
        "kl": kl,
        "tokens": int(counts.sum().item()),
        **hyper(),
    }
    cases.write_json(os.path.join(d, f"{stage}_out.json"), out, indent=2)
    cases.save_weights(os.path.join(d, f"{stage}_after.safetensors"), cases.weights_f32(model))
    print(f"{stage}: loss {loss.item():.6f} grad norm {norm:.5f}")


class Critic(torch.nn.Module):
    def __init__(self, body, seed):
        super().__init__()
        self.body = body
        D = body.cfg.hidden_size
        torch.manual_seed(seed)
        self.value_head = torch.nn.Linear(D, 1)

    def forward(self, ids, doc):
        cap = {}
        h = self.body.model.norm.register_forward_hook(lambda m, i, o: cap.__setitem__("x", o))
        self.body(ids, doc_ids=doc)
        h.remove()
        return self.value_head(self.body.model.norm(cap["x"])).squeeze(-1)  # [B, T]


def masked_mean(x, m):
    return (x * m).sum() / m.sum().clamp(min=1)


def gen_ppo(d, model0, rs, seed, perms):
    model = copy.deepcopy(model0)
    model.train()
    refm = frozen(model0)
    critic = Critic(copy.deepcopy(model0), seed)
    critic.train()
    write_rollouts(os.path.join(d, "ppo_rollouts.jsonl"), rs)
    st.save(
        os.path.join(d, "ppo_critic_init.safetensors"),
        {k: v.detach().float().contiguous().clone() for k, v in critic.value_head.state_dict().items()},
    )
    ids, doc, P, R, comp = completion_rows(rs)
    mask = eos_mask(comp)
    B = ids.shape[0]
    L = mask.sum(dim=1).long()
    with torch.no_grad():
        old, _ = token_logps(model, ids, doc)
        ref, _ = token_logps(refm, ids, doc)
        old, ref = old[:, P - 1 :], ref[:, P - 1 :]
        values = critic(ids, doc)[:, P - 1 : P - 1 + R] * mask
        rewards = torch.zeros(B, R)
        rewards[torch.arange(B), L - 1] = torch.tensor([r["reward"] for r in rs], dtype=torch.float32)
        adv = torch.zeros(B, R)
        last = torch.zeros(B)
        for t in reversed(range(R)):
            nv = values[:, t + 1] if t < R - 1 else torch.zeros(B)
            delta = rewards[:, t] + GAMMA * nv - values[:, t]
            last = delta + GAMMA * LAMBDA * last
            adv[:, t] = last
        returns = adv + values
        mean = masked_mean(adv, mask)
        var = masked_mean((adv - mean) ** 2, mask)
        adv = (adv - mean) * torch.rsqrt(var + 1e-8) * mask
    anames, aparams = zip(*model.named_parameters())
    aparams = list(aparams)
    cnames, cparams = zip(*critic.named_parameters())
    cparams = list(cparams)
    cnames = [n[len("body."):] if n.startswith("body.") else n for n in cnames]
    agrads, cgrads = {}, {}
    aopt, asched = new_opt(aparams, LR)
    copt, csched = new_opt(cparams, CRITIC_LR)
    steps = []
    stop = False
    for it in range(PPO_ITERS):
        perm = perms[it]
        for s in range(0, B, MINI_BATCH):
            idx = torch.tensor(perm[s : s + MINI_BATCH])
            m = mask[idx]
            lp, aux = token_logps(model, ids[idx], doc[idx])
            lp = lp[:, P - 1 :]
            log_ratio = lp - old[idx]
            ratio = torch.exp(log_ratio)
            approx_kl = masked_mean(0.5 * log_ratio**2, m)
            if approx_kl.item() > EARLY_STOP_KL:
                stop = True
            a = adv[idx]
            pg = masked_mean(torch.max(-a * ratio, -a * torch.clamp(ratio, 1 - EPSILON, 1 + EPSILON)), m)
            klv = masked_mean(kl3(ref[idx], lp), m)
            policy = pg + KL_COEF * klv
            v = critic(ids[idx], doc[idx])[:, P - 1 : P - 1 + R]
            vo = values[idx]
            vc = vo + torch.clamp(v - vo, -CLIP_V, CLIP_V)
            ret = returns[idx]
            vloss = 0.5 * masked_mean(torch.max((v - ret) ** 2, (vc - ret) ** 2), m)
            loss = policy + VF_COEF * vloss + aux
            if stop:
                loss = loss * 0.0
            loss.backward()
            k = len(steps)
            an, alr = opt_step(aparams, aopt, asched, None if stop else agrads, anames, k)
            cn, clr = opt_step(cparams, copt, csched, None if stop else cgrads, cnames, k)
            steps.append(
                {
                    "rows": perm[s : s + MINI_BATCH],
                    "approx_kl": approx_kl.item(),
                    "stopped": stop,
                    "policy": policy.item(),
                    "value": vloss.item(),
                    "aux": float(aux),
                    "loss": (policy + VF_COEF * vloss + aux).item(),
                    "actor_grad_norm": an,
                    "critic_grad_norm": cn,
                    "actor_lr": alr,
                    "critic_lr": clr,
                }
            )
        if stop:
            break
    out = {
        "stage": "ppo",
        "perms": perms,
        "steps": steps,
        "old_values": values.tolist(),
        "returns": returns.tolist(),
        "advantages": adv.tolist(),
        **hyper(),
    }
    cases.write_json(os.path.join(d, "ppo_out.json"), out, indent=2)
    cases.save_weights(os.path.join(d, "ppo_after.safetensors"), cases.weights_f32(model))
    ct = cases.weights_f32(critic.body)
    for k, v in critic.value_head.state_dict().items():
        ct["value_head." + k] = v.detach().float().contiguous().clone()
    cases.save_weights(os.path.join(d, "ppo_critic_after.safetensors"), ct)
    cases.save_weights(os.path.join(d, "ppo_grads.safetensors"), agrads)
    cases.save_weights(os.path.join(d, "ppo_critic_grads.safetensors"), cgrads)
    print("ppo: " + ", ".join(f"kl {s['approx_kl']:.2e} loss {s['loss']:.5f}{' stop' if s['stopped'] else ''}" for s in steps))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=os.path.join(REPO, "native", "testdata", "rl"))
    a = ap.parse_args()
    cases.setup_torch()
    cases.ensure_dir(a.outdir)
    with open(os.path.join(a.outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(
            "# Reinforcement-learning golden files\n\nGenerated by `tools/torchref/gen_rl_golden.py`; do not edit by hand. "
            "The script's docstring describes every file and each stage's update.\n"
        )
    for name, kw, seed in CASES:
        cfg = cases.config_dict(**{**TRAIN, **kw})
        d = cases.ensure_dir(os.path.join(a.outdir, name))
        model0 = cases.build_model(cfg, seed)
        cases.write_json(os.path.join(d, "config.json"), cfg, indent=2)
        cases.save_weights(os.path.join(d, "model.safetensors"), cases.weights_f32(model0))
        V = cfg["vocab_size"]
        g = torch.Generator().manual_seed(seed + 1)
        print(name)
        gen_group(d, "grpo", "grpo", model0, make_rollouts(g, V, 2, 3, 6), 3)
        gen_group(d, "cispo", "cispo", model0, make_rollouts(g, V, 2, 3, 6), 3)
        gen_group(d, "agent", "cispo", model0, agent_rollouts(g, V, 2, 4), 4, agent=True)
        perms = [torch.randperm(4, generator=g).tolist() for _ in range(PPO_ITERS)]
        gen_ppo(d, model0, make_rollouts(g, V, 4, 1, 6), seed + 2, perms)


if __name__ == "__main__":
    main()
