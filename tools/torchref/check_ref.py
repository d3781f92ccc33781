"""Self-checks of the PyTorch reference and of the committed golden files.

Usage:
    /usr/bin/python3 tools/torchref/check_ref.py [-v]

What it checks:
  * a second, plain NumPy float64 implementation that decodes token by token
    with a KV cache (explicit loops over heads, experts and RoPE pairs) agrees
    with the batched torch forward pass on every tiny case;
  * causality: the logits of a prefix equal the first rows of the full logits;
  * packing: a packed row (position ids restarting, attention within the
    document) gives each document the logits it gets when run alone;
  * RoPE: scores depend only on relative positions; the YaRN ramp bounds for
    head_dim 16, θ 1e6 are low 1, high 4;
  * MoE: minimind3 top-1 weights are exactly 1; the aux losses agree with
    explicit loops;
  * AdamW and clip_grad_norm_ follow the formulas the Go trainer implements;
  * minimind2-small has 25,829,888 parameters (25.83M) and minimind2-moe
    145,029,760 (145M), tied embeddings counted once;
  * regenerating the golden folders reproduces the committed files byte for byte.
"""

import filecmp
import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import gen_golden  # noqa: E402
import gen_post_golden as post  # noqa: E402
import gen_train_golden  # noqa: E402
import minimind_ref as ref  # noqa: E402
import safetensors_io as st  # noqa: E402

REPO = gen_golden.REPO


def tiny_models():
    """(name, model, ids) of every forward golden case, built in memory."""
    out = []
    for name, kw, seed, _ in gen_golden.CASES:
        cfgd = cases.config_dict(**{**gen_golden.TINY, **kw})
        m = cases.build_model(cfgd, seed)
        g = torch.Generator().manual_seed(seed + 500)
        ids = torch.randint(0, cfgd["vocab_size"], (1, 7), generator=g)
        out.append((name, m.eval(), ids))
    return out


# ----------------------------------------------------------------------------
# A second implementation: NumPy float64, one token at a time with a KV cache
# ----------------------------------------------------------------------------


def np_decode(model, ids):
    """Logits [T,V] of ids (list) computed token by token in float64."""
    cfg = model.cfg
    W = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    D, H, KVH, hd = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    eps = cfg.rms_norm_eps
    half = hd // 2
    # inverse frequencies (and YaRN) recomputed here from the formulas
    freqs = np.array([cfg.rope_theta ** (-2.0 * i / hd) for i in range(half)])  # [hd/2]
    att = 1.0
    rs = cfg.rope_scaling
    if rs is not None and cfg.max_position_embeddings > rs.original_max_position_embeddings:
        def dim_of(beta):
            return hd * math.log(rs.original_max_position_embeddings / (beta * 2 * math.pi)) / (2 * math.log(cfg.rope_theta))

        lo = max(math.floor(dim_of(rs.beta_fast)), 0)
        hi = min(math.ceil(dim_of(rs.beta_slow)), half - 1)
        for i in range(half):
            r = min(max((i - lo) / max(hi - lo, 0.001), 0.0), 1.0)
            freqs[i] *= (1 - r) + r / rs.factor
        att = rs.attention_factor

    def rms(x, w):
        return w * x / math.sqrt(np.mean(x * x) + eps)

    def rope(v, pos):  # v [hd]: rotate each pair (v[i], v[i+hd/2]) by pos·freq[i]
        out = np.empty_like(v)
        for i in range(half):
            a = pos * freqs[i]
            c, s = math.cos(a) * att, math.sin(a) * att
            out[i] = v[i] * c - v[i + half] * s
            out[i + half] = v[i + half] * c + v[i] * s
        return out

    def silu(x):
        return x / (1.0 + np.exp(-x))

    def ffn(prefix, x):
        g = W[prefix + ".gate_proj.weight"] @ x
        u = W[prefix + ".up_proj.weight"] @ x
        return W[prefix + ".down_proj.weight"] @ (silu(g) * u)

    L = cfg.num_hidden_layers
    kcache = [[] for _ in range(L)]  # per layer: list of [KVH,hd]
    vcache = [[] for _ in range(L)]
    logits = []
    for pos, tok in enumerate(ids):
        h = W["model.embed_tokens.weight"][tok].copy()  # [D]
        for li in range(L):
            p = f"model.layers.{li}"
            x = rms(h, W[p + ".input_layernorm.weight"])
            q = (W[p + ".self_attn.q_proj.weight"] @ x).reshape(H, hd)
            k = (W[p + ".self_attn.k_proj.weight"] @ x).reshape(KVH, hd)
            v = (W[p + ".self_attn.v_proj.weight"] @ x).reshape(KVH, hd)
            for j in range(H):
                if cfg.minimind3:
                    q[j] = rms(q[j], W[p + ".self_attn.q_norm.weight"])
                q[j] = rope(q[j], pos)
            for j in range(KVH):
                if cfg.minimind3:
                    k[j] = rms(k[j], W[p + ".self_attn.k_norm.weight"])
                k[j] = rope(k[j], pos)
            kcache[li].append(k)
            vcache[li].append(v)
            o = np.zeros(H * hd)
            group = H // KVH
            for j in range(H):
                kv = j // group
                s = np.array([q[j] @ kk[kv] for kk in kcache[li]]) / math.sqrt(hd)
                s = np.exp(s - s.max())
                s /= s.sum()
                o[j * hd : (j + 1) * hd] = sum(s[t] * vcache[li][t][kv] for t in range(len(s)))
            h = h + W[p + ".self_attn.o_proj.weight"] @ o
            x = rms(h, W[p + ".post_attention_layernorm.weight"])
            if cfg.use_moe:
                logit = W[p + ".mlp.gate.weight"] @ x
                sc = np.exp(logit - logit.max())
                sc /= sc.sum()
                order = sorted(range(cfg.n_experts), key=lambda e: -sc[e])[: cfg.num_experts_per_tok]
                w = np.array([sc[e] for e in order])
                if cfg.minimind3 or (len(order) > 1 and cfg.norm_topk_prob):
                    w = w / w.sum()
                f = np.zeros(D)
                for e, we in zip(order, w):
                    f += we * ffn(f"{p}.mlp.experts.{e}", x)
                for j in range(cfg.n_shared_experts):
                    f += ffn(f"{p}.mlp.shared_experts.{j}", x)
            else:
                f = ffn(p + ".mlp", x)
            h = h + f
        x = rms(h, W["model.norm.weight"])
        logits.append(W["model.embed_tokens.weight"] @ x)
    return np.stack(logits)


class ForwardTest(unittest.TestCase):
    def test_numpy_decode_matches(self):
        for name, m, ids in tiny_models():
            with self.subTest(case=name):
                with torch.no_grad():
                    lt, _ = m(ids)
                ln = np_decode(m, ids[0].tolist())
                err = np.abs(lt[0].double().numpy() - ln).max()
                self.assertLess(err, 2e-5, f"{name}: max |torch - numpy| = {err}")

    def test_golden_trace_matches_model(self):
        gdir = os.path.join(REPO, "model", "testdata", "golden")
        for name, m, ids in tiny_models():
            with self.subTest(case=name):
                path = os.path.join(gdir, name, "trace.safetensors")
                if not os.path.exists(path):
                    self.skipTest("golden files not generated")
                w = st.load(os.path.join(gdir, name, "model.safetensors"))
                m2 = ref.MiniMindForCausalLM(m.cfg)
                m2.load_weights(w)
                trace = {}
                with torch.no_grad():
                    m2(ids, trace=trace)
                gold = st.load(path)
                self.assertEqual(sorted(gold), sorted(trace))
                for k in gold:
                    self.assertTrue(torch.equal(gold[k], trace[k]), k)

    def test_causal_prefix(self):
        for name, m, ids in tiny_models():
            with self.subTest(case=name):
                with torch.no_grad():
                    full, _ = m(ids)
                    for t in (1, 3, 6):
                        part, _ = m(ids[:, :t])
                        self.assertLess((full[:, :t] - part).abs().max().item(), 1e-5)

    def test_packing_equals_separate_documents(self):
        for name, kw, seed in gen_train_golden.CASES:
            with self.subTest(case=name):
                cfgd = cases.config_dict(**{**gen_train_golden.TRAIN, **kw})
                m = cases.build_model(cfgd, seed).eval()
                g = torch.Generator().manual_seed(seed + 500)
                b = gen_train_golden.make_batch(g, cfgd["vocab_size"])
                ids = torch.tensor(b["packed_input_ids"])
                pos = torch.tensor(b["packed_position_ids"])
                docs = torch.tensor(b["packed_doc_ids"])
                with torch.no_grad():
                    packed, _ = m(ids, position_ids=pos, doc_ids=docs)
                    for r in range(ids.shape[0]):
                        for d in docs[r].unique().tolist():
                            sel = (docs[r] == d).nonzero().flatten()
                            alone, _ = m(ids[r : r + 1, sel])
                            err = (packed[r, sel] - alone[0]).abs().max().item()
                            self.assertLess(err, 1e-5, f"row {r} doc {d}")
                # labels: -100 at each document start and on padding
                for r in range(ids.shape[0]):
                    for t in range(ids.shape[1]):
                        starts = pos[r, t].item() == 0
                        pad = ids[r, t].item() == 0
                        self.assertEqual(b["packed_labels"][r][t] == -100, starts or pad)


class RopeTest(unittest.TestCase):
    def test_relative_positions(self):
        for yarn in (None, cases.YARN):
            cfgd = cases.config_dict(
                style="minimind2", hidden=64, layers=1, heads=4, kv_heads=2, intermediate=8, eps=1e-5,
                max_pos=32768, rope_scaling=yarn,
            )
            cfg = ref.Config.from_dict(cfgd)
            g = torch.Generator().manual_seed(7)
            q = torch.randn(1, 1, 1, 16, generator=g)
            k = torch.randn(1, 1, 1, 16, generator=g)

            def score(m, n):
                cq, sq = ref.rope_cos_sin(cfg, torch.tensor([[m]]))
                ck, sk = ref.rope_cos_sin(cfg, torch.tensor([[n]]))
                return (ref.apply_rope(q, cq, sq) * ref.apply_rope(k, ck, sk)).sum().item()

            for m, n, c in ((5, 2, 100), (9, 0, 1000), (3, 3, 20000)):
                self.assertAlmostEqual(score(m, n), score(m + c, n + c), places=4)

    def test_yarn_bounds(self):
        cfg = ref.Config.from_dict(
            cases.config_dict(
                style="minimind2", hidden=64, layers=1, heads=4, kv_heads=2, intermediate=8, eps=1e-5,
                max_pos=32768, rope_scaling=cases.YARN,
            )
        )
        low, high, ramp = ref.yarn_ramp(cfg)
        self.assertEqual((low, high), (1, 4))
        self.assertEqual([round(x, 6) for x in ramp.tolist()], [round(x, 6) for x in (0, 0, 1 / 3, 2 / 3, 1, 1, 1, 1)])
        # off when max_position_embeddings does not exceed the original
        cfg.max_position_embeddings = 2048
        self.assertIsNone(ref.yarn_ramp(cfg))


class MoETest(unittest.TestCase):
    def _layer(self, name):
        for n, kw, seed in gen_train_golden.CASES:
            if n == name:
                cfgd = cases.config_dict(**{**gen_train_golden.TRAIN, **kw})
                return cases.build_model(cfgd, seed)
        raise KeyError(name)

    def test_aux_losses_by_loops(self):
        for name in ("tiny-moe", "tiny3-moe"):
            with self.subTest(case=name):
                m = self._layer(name)
                moe = m.model.layers[0].mlp
                cfg = m.cfg
                B, T, D = 3, 5, cfg.hidden_size
                x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(3))
                _, aux = moe(x)
                sc = torch.softmax(x @ moe.gate.weight.t(), -1).double()  # [B,T,E]
                E, k = cfg.n_experts, cfg.num_experts_per_tok
                top = [[sorted(range(E), key=lambda e: -sc[b, t, e].item())[:k] for t in range(T)] for b in range(B)]
                if cfg.minimind3:
                    want = 0.0
                    for e in range(E):
                        load = sum(top[b][t].count(e) for b in range(B) for t in range(T)) / (B * T * k)
                        want += load * sc[:, :, e].mean().item()
                    want *= cfg.aux_coef * E
                else:
                    want = 0.0
                    for b in range(B):
                        for e in range(E):
                            cnt = sum(top[b][t].count(e) for t in range(T))
                            want += cnt / (T * k / E) * sc[b, :, e].mean().item()
                    want = cfg.aux_coef * want / B
                self.assertAlmostEqual(aux.item(), want, places=7)

    def test_minimind3_top1_weight_is_one(self):
        m = self._layer("tiny3-moe")
        moe = m.model.layers[0].mlp
        x = torch.randn(1, 4, m.cfg.hidden_size, generator=torch.Generator().manual_seed(4))
        out, _ = moe(x)
        sc = torch.softmax(x[0] @ moe.gate.weight.t(), -1)
        for t in range(4):
            e = int(sc[t].argmax())
            self.assertTrue(torch.equal(out[0, t], moe.experts[e](x[0, t : t + 1])[0]))


class OptimTest(unittest.TestCase):
    def test_adamw_formula(self):
        g = torch.Generator().manual_seed(5)
        p0 = torch.randn(6, generator=g)
        grads = [torch.randn(6, generator=g) for _ in range(3)]
        p = torch.nn.Parameter(p0.clone())
        opt = torch.optim.AdamW([p], lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=False)
        w = p0.double().clone()
        m = torch.zeros(6, dtype=torch.float64)
        v = torch.zeros(6, dtype=torch.float64)
        for step, gr in enumerate(grads, 1):
            lr = 1e-2 * step  # changing lr between steps, as the schedule does
            opt.param_groups[0]["lr"] = lr
            p.grad = gr.clone()
            opt.step()
            gd = gr.double()
            w = w * (1 - lr * 0.01)
            m = 0.9 * m + 0.1 * gd
            v = 0.999 * v + 0.001 * gd * gd
            mhat = m / (1 - 0.9**step)
            denom = (v / (1 - 0.999**step)).sqrt() + 1e-8
            w = w - lr * mhat / denom
        self.assertLess((p.detach().double() - w).abs().max().item(), 1e-6)

    def test_clip_grad_norm(self):
        a = torch.nn.Parameter(torch.zeros(3))
        b = torch.nn.Parameter(torch.zeros(2))
        a.grad = torch.tensor([3.0, 0.0, 4.0])
        b.grad = torch.tensor([0.0, 12.0])
        n = torch.nn.utils.clip_grad_norm_([a, b], 1.0)
        self.assertAlmostEqual(n.item(), 13.0, places=5)
        coef = 1.0 / (13.0 + 1e-6)
        self.assertAlmostEqual(a.grad[2].item(), 4.0 * coef, places=6)

    def test_lr_schedule(self):
        self.assertAlmostEqual(gen_train_golden.lr_at(10), 5e-5, places=12)
        self.assertAlmostEqual(gen_train_golden.lr_at(5), 5e-4 * 0.55, places=12)


class SizeTest(unittest.TestCase):
    def test_param_counts(self):
        want = {"minimind2-small": 25_829_888, "minimind2-moe": 145_029_760}
        for name, kw, _ in gen_golden.FULL:
            with self.subTest(case=name):
                cfg = ref.Config.from_dict(cases.config_dict(vocab=6400, max_pos=32768, **kw))
                m = ref.MiniMindForCausalLM(cfg)
                self.assertEqual(ref.param_count(m), want[name])


class ReproducibleTest(unittest.TestCase):
    def _compare(self, committed, gen):
        if not os.path.isdir(committed):
            self.skipTest(f"{committed} not generated")
        with tempfile.TemporaryDirectory() as tmp:
            gen(tmp)
            for root, _, files in os.walk(committed):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), committed)
                    self.assertTrue(
                        filecmp.cmp(os.path.join(committed, rel), os.path.join(tmp, rel), shallow=False),
                        f"{rel} differs after regeneration",
                    )
            n_new = sum(len(fs) for _, _, fs in os.walk(tmp))
            n_old = sum(len(fs) for _, _, fs in os.walk(committed))
            self.assertEqual(n_new, n_old)

    def test_model_goldens(self):
        def gen(out):
            with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
                f.write(gen_golden.README)
            for name, kw, seed, lm in gen_golden.CASES:
                gen_golden.write_case(out, name, cases.config_dict(**{**gen_golden.TINY, **kw}), seed, 7, lm)

        self._compare(os.path.join(REPO, "model", "testdata", "golden"), gen)

    def test_train_goldens(self):
        def gen(out):
            with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
                f.write(gen_train_golden.README)
            for name, kw, seed in gen_train_golden.CASES:
                gen_train_golden.write_case(out, name, cases.config_dict(**{**gen_train_golden.TRAIN, **kw}), seed)

        self._compare(os.path.join(REPO, "native", "testdata", "golden"), gen)


class PostTrainingTest(unittest.TestCase):
    """Independent facts about the post-training losses of gen_post_golden."""

    def _model(self, i=0):
        name, kw, seed = post.CASES[i]
        return cases.build_model(cases.config_dict(**{**post.TRAIN, **kw}), seed).eval()

    def test_lora_selects_square_layers_and_starts_neutral(self):
        m = self._model()
        ids = torch.randint(3, 256, (2, 9), generator=torch.Generator().manual_seed(1))
        before, _ = m(ids)
        mods = post.add_lora(m, post.RANK, 5)
        self.assertEqual(sorted({n.split(".")[-1] for n in mods}), ["o_proj", "q_proj"])
        after, _ = m(ids)
        self.assertTrue(torch.equal(before, after))  # B = 0

    def test_dpo_loss_is_log2_when_policy_equals_reference(self):
        m = self._model()
        g = torch.Generator().manual_seed(2)
        s = post.dpo_steps(g, 256)[0]
        ids = torch.tensor(s["chosen_ids"] + s["rejected_ids"])
        labels = torch.tensor(s["chosen_labels"] + s["rejected_labels"])
        logits, _ = m(ids[:, :-1])
        lp = post.seq_logp(logits, ids, labels)
        P = ids.shape[0] // 2
        d = (lp[:P] - lp[P:]) - (lp[:P] - lp[P:])
        self.assertAlmostEqual((-torch.nn.functional.logsigmoid(post.BETA * d).mean()).item(), float(np.log(2)), places=6)

    def test_distill_kl_direction(self):
        # KL(p_t || q_s) = Σ p_t (log p_t − log q_s), computed by hand in float64.
        t = torch.randn(5, 7, dtype=torch.float64)
        s = torch.randn(5, 7, dtype=torch.float64)
        T = post.TEMP
        kl = torch.nn.functional.kl_div(torch.log_softmax(s / T, -1), torch.softmax(t / T, -1), reduction="batchmean")
        p = torch.softmax(t / T, -1)
        want = (p * (torch.log(p) - torch.log_softmax(s / T, -1))).sum() / 5
        self.assertAlmostEqual(kl.item(), want.item(), places=12)

    def test_post_goldens_reproduce(self):
        with tempfile.TemporaryDirectory() as out:
            old = sys.argv
            sys.argv = ["gen_post_golden.py", out]
            try:
                post.main()
            finally:
                sys.argv = old
            want = os.path.join(REPO, "native", "testdata", "post")
            for root, _, files in os.walk(out):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), out)
                    with open(os.path.join(root, f), "rb") as a, open(os.path.join(want, rel), "rb") as b:
                        self.assertEqual(a.read(), b.read(), rel)


if __name__ == "__main__":
    cases.setup_torch()
    unittest.main()
