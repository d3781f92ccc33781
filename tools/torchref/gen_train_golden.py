"""Training golden files for the Go native trainer.

Usage:
    /usr/bin/python3 tools/torchref/gen_train_golden.py [OUTDIR]
        (default OUTDIR: native/testdata/golden)

For each case (tiny, tiny-moe, tiny3, tiny3-moe) the folder holds:

    config.json                the architecture
    model.safetensors          F32 initial weights (tied: no lm_head.weight)
    batch.json                 B=3 x T=12: input_ids, labels (one row
                               right-padded with id 0, labels -100 there) and a
                               packed variant: packed_input_ids, packed_labels,
                               packed_position_ids, packed_doc_ids
    loss.json                  loss = ce + aux of the batch at the initial
                               weights; packed_loss (= packed_ce + packed_aux)
    grads.safetensors          d loss / d parameter (names as the weights)
    packed_grads.safetensors   d packed_loss / d parameter
    steps.json                 10 micro-batches [{input_ids, labels}], B=2, T=12
    steps_out.json             the 10-micro-step run: per-micro-step loss, ce,
                               aux and lr; the gradient norm (before clipping)
                               at each optimizer step; the hyperparameters
    after_10.safetensors       F32 weights after the 10 micro-steps

Loss: mean cross-entropy of logits[:, :-1] vs labels[:, 1:] over targets that
are not -100, plus the MoE auxiliary loss summed over layers (computed over
every position of the batch, padding included, as MiniMind does).

Packed rows: several documents per row, each [bos, ..., eos]; position ids
restart at 0 at every document start; attention is causal and restricted to
the same document (doc ids count from 0 in each row; the padding run at the
end of a row gets its own doc id and positions restarting at 0); labels are
-100 at the first token of every document and on padding.

Run: AdamW (torch.optim.AdamW: betas 0.9/0.999, eps 1e-8, weight decay 0.01
on every parameter), accumulation_steps 2 (each micro-batch loss is divided
by 2 before backward; clip_grad_norm_(all parameters, 1.0) then step then
zero_grad after micro-steps 2, 4, ..., 10), and before every micro-step t
(t = 1..10) lr = 5e-4 · (0.1 + 0.45 · (1 + cos(π·t/10))).
"""

import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import minimind_ref as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAD, BOS, EOS = 0, 1, 2
B, T = 3, 12
STEP_B, STEP_T = 2, 12
N_STEPS, ACCUM = 10, 2
BASE_LR, WD, BETAS, EPS, CLIP = 5e-4, 0.01, (0.9, 0.999), 1e-8, 1.0

# The training cases are narrower than the forward cases (hidden 32,
# head_dim 8) because each folder stores four copies of the parameters
# (initial weights, two gradients, final weights) and the whole folder should
# stay around 1.5 MB. Query heads 4, kv heads 2, 2 layers, vocab 256 as in the
# forward cases.
TRAIN = dict(hidden=32, layers=2, heads=4, kv_heads=2, vocab=256, max_pos=512, theta=1e6)
DENSE_FFN = 48
EXPERT_FFN = 8

CASES = [
    ("tiny", dict(style="minimind2", intermediate=DENSE_FFN, eps=1e-5), 3001),
    (
        "tiny-moe",
        dict(style="minimind2", intermediate=EXPERT_FFN, eps=1e-5, moe=dict(experts=4, topk=2, shared=1)),
        3002,
    ),
    ("tiny3", dict(style="minimind3", intermediate=DENSE_FFN, eps=1e-6), 3003),
    (
        "tiny3-moe",
        dict(style="minimind3", intermediate=EXPERT_FFN, eps=1e-6, moe=dict(experts=4, topk=1, shared=0)),
        3004,
    ),
]


def doc(g, n, vocab):
    """One document of n tokens: [bos, n-2 random content tokens, eos]."""
    body = torch.randint(3, vocab, (n - 2,), generator=g).tolist()
    return [BOS] + body + [EOS]


def make_batch(g, vocab):
    """The plain and the packed batch (lists of lists)."""
    # plain: rows 0 and 2 are full; row 1 is right-padded with PAD
    lengths = [T, 8, T]
    ids, labels = [], []
    for n in lengths:
        row = doc(g, n, vocab) + [PAD] * (T - n)
        ids.append(row)
        labels.append([x if i < n else -100 for i, x in enumerate(row)])

    # packed: several documents per row; the last row ends with padding
    layouts = [[5, 7], [4, 3, 5], [6, 3]]
    p_ids, p_labels, p_pos, p_doc = [], [], [], []
    for docs in layouts:
        r_ids, r_lab, r_pos, r_doc = [], [], [], []
        for j, n in enumerate(docs):
            d = doc(g, n, vocab)
            r_ids += d
            r_lab += [-100] + d[1:]
            r_pos += list(range(n))
            r_doc += [j] * n
        npad = T - len(r_ids)
        if npad > 0:
            r_ids += [PAD] * npad
            r_lab += [-100] * npad
            r_pos += list(range(npad))
            r_doc += [len(docs)] * npad
        p_ids.append(r_ids)
        p_labels.append(r_lab)
        p_pos.append(r_pos)
        p_doc.append(r_doc)
    return {
        "input_ids": ids,
        "labels": labels,
        "packed_input_ids": p_ids,
        "packed_labels": p_labels,
        "packed_position_ids": p_pos,
        "packed_doc_ids": p_doc,
    }


def make_steps(g, vocab):
    """N_STEPS micro-batches of STEP_B rows; rows may be right-padded."""
    steps = []
    for _ in range(N_STEPS):
        ids, labels = [], []
        for _ in range(STEP_B):
            n = int(torch.randint(6, STEP_T + 1, (1,), generator=g))
            row = doc(g, n, vocab) + [PAD] * (STEP_T - n)
            ids.append(row)
            labels.append([x if i < n else -100 for i, x in enumerate(row)])
        steps.append({"input_ids": ids, "labels": labels})
    return steps


def loss_of(model, ids, labels, position_ids=None, doc_ids=None):
    """(loss, ce, aux) with loss = ce + aux."""
    logits, aux = model(ids, position_ids=position_ids, doc_ids=doc_ids)
    ce = ref.causal_lm_loss(logits, labels)
    return ce + aux, ce, aux


def grads_of(model):
    """Gradients by parameter name as F32 (zeros for a parameter that got none)."""
    out = {}
    for name, p in model.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        out[name] = g.detach().float().clone()
    return out


def lr_at(t):
    """lr(t) = base·(0.1 + 0.45·(1 + cos(π·t/T_total))), t = 1..N_STEPS."""
    return BASE_LR * (0.1 + 0.45 * (1 + math.cos(math.pi * t / N_STEPS)))


def write_case(outdir, name, cfg_dict, seed):
    d = cases.ensure_dir(os.path.join(outdir, name))
    model = cases.build_model(cfg_dict, seed)
    model.train()
    cases.write_json(os.path.join(d, "config.json"), cfg_dict, indent=2)
    cases.save_weights(os.path.join(d, "model.safetensors"), cases.weights_f32(model))

    g = torch.Generator().manual_seed(seed + 500)
    vocab = cfg_dict["vocab_size"]
    batch = make_batch(g, vocab)
    steps = make_steps(g, vocab)
    cases.write_json(os.path.join(d, "batch.json"), batch)
    cases.write_json(os.path.join(d, "steps.json"), steps)

    # one batch: loss and gradients at the initial weights
    ids = torch.tensor(batch["input_ids"])  # [B,T]
    labels = torch.tensor(batch["labels"])  # [B,T]
    model.zero_grad(set_to_none=True)
    loss, ce, aux = loss_of(model, ids, labels)
    loss.backward()
    st.save(os.path.join(d, "grads.safetensors"), grads_of(model))

    model.zero_grad(set_to_none=True)
    p_loss, p_ce, p_aux = loss_of(
        model,
        torch.tensor(batch["packed_input_ids"]),
        torch.tensor(batch["packed_labels"]),
        position_ids=torch.tensor(batch["packed_position_ids"]),
        doc_ids=torch.tensor(batch["packed_doc_ids"]),
    )
    p_loss.backward()
    st.save(os.path.join(d, "packed_grads.safetensors"), grads_of(model))
    model.zero_grad(set_to_none=True)
    cases.write_json(
        os.path.join(d, "loss.json"),
        {
            "loss": loss.item(),
            "ce": ce.item(),
            "aux": aux.item(),
            "packed_loss": p_loss.item(),
            "packed_ce": p_ce.item(),
            "packed_aux": p_aux.item(),
        },
        indent=2,
    )

    # the 10-micro-step run
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=BASE_LR, betas=BETAS, eps=EPS, weight_decay=WD, foreach=False)
    losses, ces, auxes, lrs, norms = [], [], [], [], []
    for t in range(1, N_STEPS + 1):
        lr = lr_at(t)
        for group in opt.param_groups:
            group["lr"] = lr
        s = steps[t - 1]
        loss_t, ce_t, aux_t = loss_of(model, torch.tensor(s["input_ids"]), torch.tensor(s["labels"]))
        (loss_t / ACCUM).backward()
        losses.append(loss_t.item())
        ces.append(ce_t.item())
        auxes.append(aux_t.item())
        lrs.append(lr)
        if t % ACCUM == 0:
            norm = torch.nn.utils.clip_grad_norm_(params, CLIP)
            norms.append(norm.item())
            opt.step()
            opt.zero_grad(set_to_none=True)
    cases.write_json(
        os.path.join(d, "steps_out.json"),
        {
            "losses": losses,
            "ce": ces,
            "aux": auxes,
            "lrs": lrs,
            "grad_norms": norms,
            "base_lr": BASE_LR,
            "accumulation_steps": ACCUM,
            "weight_decay": WD,
            "betas": list(BETAS),
            "eps": EPS,
            "grad_clip": CLIP,
            "total_steps": N_STEPS,
        },
        indent=2,
    )
    cases.save_weights(os.path.join(d, "after_10.safetensors"), cases.weights_f32(model))
    print(
        f"{name}: {ref.param_count(model)} parameters; loss {loss.item():.6f} (ce {ce.item():.6f} aux {aux.item():.3g}), "
        f"packed {p_loss.item():.6f}; run losses {losses[0]:.4f} -> {losses[-1]:.4f}, "
        f"grad norms {', '.join(f'{n:.3f}' for n in norms)}"
    )


README = """# Training golden files

Generated by `tools/torchref/gen_train_golden.py` (the project's independent
PyTorch reference, `tools/torchref/minimind_ref.py`); do not edit by hand,
rerun the script instead (it reproduces these files byte for byte). The
module docstring of that script describes every file and convention.

| case | generation | layers | hidden | heads / kv heads | head_dim | FFN | extras |
|---|---|---|---|---|---|---|---|
| tiny | MiniMind2 dense | 2 | 32 | 4 / 2 | 8 | 48 | |
| tiny-moe | MiniMind2 MoE | 2 | 32 | 4 / 2 | 8 | 8 per expert | 4 experts, top-2, 1 shared, seq_aux alpha 0.01 |
| tiny3 | minimind3 dense | 2 | 32 | 4 / 2 | 8 | 48 | q/k norm |
| tiny3-moe | minimind3 MoE | 2 | 32 | 4 / 2 | 8 | 8 per expert | q/k norm, 4 experts, top-1, aux coef 5e-4 |

All: vocab 256, rope_theta 1e6, tied embeddings (one gradient for
model.embed_tokens.weight), F32.

- `loss.json`: loss = ce + aux at the initial weights for `batch.json`
  (input_ids/labels, B = 3, T = 12) and the packed variant (packed_*).
  ce is the mean over targets labels[:, 1:] != -100 of the cross-entropy of
  logits[:, :-1]; aux is summed over MoE layers and uses every position
  (padding included).
- `grads.safetensors` / `packed_grads.safetensors`: d loss / d parameter.
- Packed rows: position ids restart at 0 at each document; attention is causal
  and only between tokens of the same doc id (the trailing padding has its own
  doc id, positions from 0); labels are -100 at each document's first token and
  on padding.
- `steps.json` → `steps_out.json`, `after_10.safetensors`: 10 micro-steps
  (B = 2, T = 12) from `model.safetensors`, accumulation 2 (loss / 2 before
  backward), clip_grad_norm_ 1.0 then torch AdamW (0.9, 0.999, eps 1e-8,
  weight decay 0.01 on all parameters) after micro-steps 2, 4, ..., 10;
  lr(t) = 5e-4·(0.1 + 0.45·(1 + cos(π·t/10))) set before micro-step t = 1..10.
  `losses` are the undivided micro-batch losses (ce + aux), `grad_norms` the
  total norms before clipping at each optimizer step.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default=os.path.join(REPO, "native", "testdata", "golden"))
    a = ap.parse_args()
    cases.setup_torch()
    cases.ensure_dir(a.outdir)
    with open(os.path.join(a.outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(README)
    for name, kw, seed in CASES:
        write_case(a.outdir, name, cases.config_dict(**{**TRAIN, **kw}), seed)


if __name__ == "__main__":
    main()
