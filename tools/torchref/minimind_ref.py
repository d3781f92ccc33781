"""An independent, readable PyTorch reference of the MiniMind architecture.

Written from the architecture facts in the project's MINIMIND.md (fp32, CPU).
It covers both generations:

  * MiniMind2 (Llama-style): dense SwiGLU or MoE with shared experts,
    top-k renormalised only when k > 1 and norm_topk_prob, "seq_aux" loss.
  * minimind3 (Qwen3-style): q_norm/k_norm (RMSNorm over head_dim, per head,
    before RoPE), MoE top-k always renormalised, no shared experts,
    batch-level load-balancing loss.

The generation is decided by the presence of "head_dim" in config.json.

Shapes in comments: B batch, T sequence, D hidden, H query heads,
KVH key/value heads, hd head_dim, E experts, k experts per token,
I intermediate size, V vocabulary, N = B*T tokens.

Parameter names are exactly the Hugging Face names (model.embed_tokens.weight,
model.layers.{i}.self_attn.q_proj.weight, ...), so `state_dict()` can be
written to model.safetensors as is. Linear weights are [out, in], no biases.
"""

import math
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------


@dataclass
class RopeScaling:
    """YaRN settings (the only rope_scaling type MiniMind uses)."""

    factor: float = 16.0
    original_max_position_embeddings: int = 2048
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    attention_factor: float = 1.0


@dataclass
class Config:
    """A MiniMind architecture, read from a Hugging Face style config.json."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    intermediate_size: int
    rms_norm_eps: float
    rope_theta: float
    max_position_embeddings: int
    head_dim: int
    minimind3: bool  # q_norm/k_norm and minimind3 MoE semantics
    tie_word_embeddings: bool = True
    rope_scaling: Optional[RopeScaling] = None
    use_moe: bool = False
    num_experts_per_tok: int = 0
    n_experts: int = 0  # n_routed_experts (MiniMind2) / num_experts (minimind3)
    n_shared_experts: int = 0  # MiniMind2 only
    norm_topk_prob: bool = True  # MiniMind2 only; minimind3 always renormalises
    aux_coef: float = 0.0  # aux_loss_alpha (MiniMind2) / router_aux_loss_coef (minimind3)
    raw: dict = field(default_factory=dict, repr=False)

    @staticmethod
    def from_dict(d):
        """Build a Config from a config.json dict."""
        m3 = "head_dim" in d
        heads = d["num_attention_heads"]
        hidden = d["hidden_size"]
        rs = d.get("rope_scaling")
        scaling = None
        if rs is not None:
            if rs.get("type", "yarn") != "yarn":
                raise ValueError(f"config.json: rope_scaling.type {rs.get('type')!r} is not supported")
            scaling = RopeScaling(
                factor=float(rs.get("factor", 16.0)),
                original_max_position_embeddings=int(rs.get("original_max_position_embeddings", 2048)),
                beta_fast=float(rs.get("beta_fast", 32.0)),
                beta_slow=float(rs.get("beta_slow", 1.0)),
                attention_factor=float(rs.get("attention_factor", 1.0)),
            )
        use_moe = bool(d.get("use_moe", False))
        if m3:
            n_exp = int(d.get("num_experts", 4))
            k = int(d.get("num_experts_per_tok", 1))
            shared = 0
            aux = float(d.get("router_aux_loss_coef", 5e-4))
        else:
            n_exp = int(d.get("n_routed_experts", 4))
            k = int(d.get("num_experts_per_tok", 2))
            shared = int(d.get("n_shared_experts", 1))
            aux = float(d.get("aux_loss_alpha", 0.01))
        return Config(
            hidden_size=hidden,
            num_hidden_layers=d["num_hidden_layers"],
            num_attention_heads=heads,
            num_key_value_heads=d.get("num_key_value_heads", heads),
            vocab_size=d["vocab_size"],
            intermediate_size=d["intermediate_size"],
            rms_norm_eps=float(d.get("rms_norm_eps", 1e-5)),
            rope_theta=float(d.get("rope_theta", 1e6)),
            max_position_embeddings=int(d.get("max_position_embeddings", 32768)),
            head_dim=int(d["head_dim"]) if m3 else hidden // heads,
            minimind3=m3,
            tie_word_embeddings=bool(d.get("tie_word_embeddings", True)),
            rope_scaling=scaling,
            use_moe=use_moe,
            num_experts_per_tok=k if use_moe else 0,
            n_experts=n_exp if use_moe else 0,
            n_shared_experts=shared if use_moe else 0,
            norm_topk_prob=bool(d.get("norm_topk_prob", True)),
            aux_coef=aux,
            raw=dict(d),
        )


def param_count(model):
    """Number of parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------
# RoPE (rotate_half layout) with optional YaRN
# ----------------------------------------------------------------------------


def yarn_ramp(cfg):
    """Return (low, high, ramp[hd/2]) of YaRN for cfg, or None when YaRN is off.

    inv_dim(b) = hd * ln(orig_max / (b * 2π)) / (2 * ln θ)
    low  = max(floor(inv_dim(beta_fast)), 0)
    high = min(ceil(inv_dim(beta_slow)), hd/2 - 1)
    ramp[i] = clamp((i - low) / max(high - low, 0.001), 0, 1)
    """
    rs = cfg.rope_scaling
    if rs is None or cfg.max_position_embeddings / rs.original_max_position_embeddings <= 1:
        return None
    hd = cfg.head_dim
    theta = cfg.rope_theta
    orig = rs.original_max_position_embeddings

    def inv_dim(b):
        return hd * math.log(orig / (b * 2 * math.pi)) / (2 * math.log(theta))

    low = max(math.floor(inv_dim(rs.beta_fast)), 0)
    high = min(math.ceil(inv_dim(rs.beta_slow)), hd // 2 - 1)
    i = torch.arange(hd // 2, dtype=torch.float64)
    ramp = ((i - low) / max(high - low, 0.001)).clamp(0.0, 1.0)
    return low, high, ramp


def inv_freq(cfg):
    """inv_freq [hd/2] in float64: θ^(-2i/hd), YaRN-scaled when configured."""
    hd = cfg.head_dim
    i = torch.arange(hd // 2, dtype=torch.float64)
    f = cfg.rope_theta ** (-2.0 * i / hd)  # [hd/2]
    yr = yarn_ramp(cfg)
    if yr is not None:
        _, _, ramp = yr
        f = f * ((1.0 - ramp) + ramp / cfg.rope_scaling.factor)
    return f


def rope_cos_sin(cfg, positions):
    """cos, sin tables for integer positions [...] -> float32 [..., hd].

    angle(t, i) = t * inv_freq[i]; the table of width hd is the half table
    repeated: [cos(angles), cos(angles)] (same for sin). The angles are
    computed in float64 and rounded once to float32. With YaRN both tables
    are multiplied by attention_factor.
    """
    f = inv_freq(cfg)  # [hd/2] float64
    ang = positions.to(torch.float64)[..., None] * f  # [..., hd/2]
    ang = torch.cat([ang, ang], dim=-1)  # [..., hd]
    cos, sin = torch.cos(ang), torch.sin(ang)
    if yarn_ramp(cfg) is not None:
        cos = cos * cfg.rope_scaling.attention_factor
        sin = sin * cfg.rope_scaling.attention_factor
    return cos.to(torch.float32), sin.to(torch.float32)


def rotate_half(x):
    """cat(-x[hd/2:], x[:hd/2]) along the last axis."""
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x, cos, sin):
    """x [B,T,heads,hd], cos/sin [B,T,hd] -> x·cos + rotate_half(x)·sin."""
    c = cos[:, :, None, :]  # [B,T,1,hd]
    s = sin[:, :, None, :]
    return x * c + rotate_half(x) * s


# ----------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------


class RMSNorm(nn.Module):
    """y = w * x * rsqrt(mean(x²) + eps), in fp32, over the last axis."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))  # [dim]

    def forward(self, x):
        x = x.float()
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * (x * r)


class Attention(nn.Module):
    """Grouped-query causal self-attention with RoPE (and q/k norm for minimind3)."""

    def __init__(self, cfg):
        super().__init__()
        D, H, KVH, hd = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        if H % KVH != 0:
            raise ValueError(f"num_attention_heads {H} is not a multiple of num_key_value_heads {KVH}")
        self.H, self.KVH, self.hd = H, KVH, hd
        self.q_proj = nn.Linear(D, H * hd, bias=False)  # weight [H*hd, D]
        self.k_proj = nn.Linear(D, KVH * hd, bias=False)  # weight [KVH*hd, D]
        self.v_proj = nn.Linear(D, KVH * hd, bias=False)  # weight [KVH*hd, D]
        self.o_proj = nn.Linear(H * hd, D, bias=False)  # weight [D, H*hd]
        if cfg.minimind3:
            self.q_norm = RMSNorm(hd, cfg.rms_norm_eps)  # weight [hd]
            self.k_norm = RMSNorm(hd, cfg.rms_norm_eps)  # weight [hd]
        else:
            self.q_norm = None
            self.k_norm = None

    def forward(self, x, cos, sin, allowed, trace=None, prefix=""):
        """x [B,T,D], cos/sin [B,T,hd], allowed [B,T,T] bool (query, key) -> [B,T,D]."""
        B, T, _ = x.shape
        H, KVH, hd = self.H, self.KVH, self.hd
        q = self.q_proj(x).view(B, T, H, hd)  # [B,T,H,hd]
        k = self.k_proj(x).view(B, T, KVH, hd)  # [B,T,KVH,hd]
        v = self.v_proj(x).view(B, T, KVH, hd)  # [B,T,KVH,hd]
        if self.q_norm is not None:
            q = self.q_norm(q)  # per head, over hd
            k = self.k_norm(k)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        if trace is not None:
            trace[prefix + ".q"] = q[0]
            trace[prefix + ".k"] = k[0]
            trace[prefix + ".v"] = v[0]
        # repeat kv heads: query head h uses kv head h // (H/KVH)
        rep = H // KVH
        kr = k.repeat_interleave(rep, dim=2)  # [B,T,H,hd]
        vr = v.repeat_interleave(rep, dim=2)  # [B,T,H,hd]
        qh = q.transpose(1, 2)  # [B,H,T,hd]
        kh = kr.transpose(1, 2)  # [B,H,T,hd]
        vh = vr.transpose(1, 2)  # [B,H,T,hd]
        scores = (qh @ kh.transpose(-1, -2)) / math.sqrt(hd)  # [B,H,T,T]
        scores = scores.masked_fill(~allowed[:, None, :, :], float("-inf"))
        probs = F.softmax(scores.float(), dim=-1)  # [B,H,T,T]
        out = probs @ vh  # [B,H,T,hd]
        out = out.transpose(1, 2).reshape(B, T, H * hd)  # [B,T,H*hd]
        y = self.o_proj(out)  # [B,T,D]
        if trace is not None:
            trace[prefix + ".attn_scores"] = scores[0]
            trace[prefix + ".attn_probs"] = probs[0]
            trace[prefix + ".attn_out"] = y[0]
        return y


class FeedForward(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, D, I):
        super().__init__()
        self.gate_proj = nn.Linear(D, I, bias=False)  # weight [I, D]
        self.up_proj = nn.Linear(D, I, bias=False)  # weight [I, D]
        self.down_proj = nn.Linear(I, D, bias=False)  # weight [D, I]

    def forward(self, x):
        """x [..., D] -> [..., D]."""
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    """Routed experts (+ shared experts for MiniMind2) with a softmax router.

    MiniMind2: w = top-k of softmax scores; if k > 1 and norm_topk_prob,
      w /= (sum w + 1e-20); out = Σ_k w·expert(x) + Σ_shared shared(x).
      aux ("seq_aux") = alpha · mean_b Σ_e count_{b,e}/(T·k/E) · mean_t score_{b,t,e}.
    minimind3: w = top-k weights / their sum (even for k = 1, so the chosen
      expert's weight is exactly 1); no shared experts;
      aux = coef · E · Σ_e load_e · mean score_e over the whole batch.
    """

    def __init__(self, cfg):
        super().__init__()
        D, I, E = cfg.hidden_size, cfg.intermediate_size, cfg.n_experts
        self.cfg = cfg
        self.E, self.k = E, cfg.num_experts_per_tok
        if not 1 <= self.k <= E:
            raise ValueError(f"num_experts_per_tok {self.k} must be in 1..{E}")
        self.gate = nn.Linear(D, E, bias=False)  # weight [E, D]
        self.experts = nn.ModuleList([FeedForward(D, I) for _ in range(E)])
        self.shared_experts = nn.ModuleList([FeedForward(D, I) for _ in range(cfg.n_shared_experts)])

    def forward(self, x, trace=None, prefix=""):
        """x [B,T,D] -> (out [B,T,D], aux scalar)."""
        B, T, D = x.shape
        E, k = self.E, self.k
        xf = x.reshape(B * T, D)  # [N,D]
        scores = F.softmax(self.gate(xf).float(), dim=-1)  # [N,E]
        if trace is not None:
            trace[prefix + ".router"] = scores.view(B, T, E)[0]
        w, idx = torch.topk(scores, k, dim=-1)  # [N,k], [N,k]
        if self.cfg.minimind3:
            w = w / w.sum(dim=-1, keepdim=True)
        elif k > 1 and self.cfg.norm_topk_prob:
            w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)

        out = torch.zeros_like(xf)  # [N,D]
        for e in range(E):
            rows, slots = (idx == e).nonzero(as_tuple=True)  # tokens (and slot) routed to e
            if rows.numel() == 0:
                continue
            y = self.experts[e](xf[rows]) * w[rows, slots][:, None]  # [n_e,D]
            out = out.index_add(0, rows, y)
        for sh in self.shared_experts:
            out = out + sh(xf)

        aux = self.aux_loss(scores, idx, B, T)
        return out.view(B, T, D), aux

    def aux_loss(self, scores, idx, B, T):
        """Load-balancing loss from scores [N,E] and chosen experts idx [N,k]."""
        E, k = self.E, self.k
        coef = self.cfg.aux_coef
        if self.cfg.minimind3:
            # load_e: fraction of all (token, slot) assignments that go to e (no gradient)
            load = F.one_hot(idx.reshape(-1), E).float().mean(0)  # [E]
            p = scores.mean(0)  # [E] mean score over all tokens
            return coef * E * (load * p).sum()
        # MiniMind2 seq_aux
        counts = torch.zeros(B, E).scatter_add_(1, idx.view(B, T * k), torch.ones(B, T * k))  # [B,E]
        ce = counts / (T * k / E)  # [B,E]
        p = scores.view(B, T, E).mean(dim=1)  # [B,E]
        return coef * (ce * p).sum(dim=1).mean()


class DecoderLayer(nn.Module):
    """Pre-norm block: h += attn(norm(h)); h += mlp(norm(h))."""

    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        if cfg.use_moe:
            self.mlp = MoE(cfg)
        else:
            self.mlp = FeedForward(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, h, cos, sin, allowed, trace=None, prefix=""):
        """h [B,T,D] -> (h [B,T,D], aux)."""
        x = self.input_layernorm(h)  # [B,T,D]
        if trace is not None:
            trace[prefix + ".input_norm"] = x[0]
        a = self.self_attn(x, cos, sin, allowed, trace, prefix)  # [B,T,D]
        h = h + a
        if trace is not None:
            trace[prefix + ".resid_mid"] = h[0]
        x = self.post_attention_layernorm(h)  # [B,T,D]
        if trace is not None:
            trace[prefix + ".post_norm"] = x[0]
        if isinstance(self.mlp, MoE):
            f, aux = self.mlp(x, trace, prefix)
        else:
            f, aux = self.mlp(x), x.new_zeros(())
        h = h + f
        if trace is not None:
            trace[prefix + ".ffn_out"] = f[0]
            trace[prefix + ".resid_out"] = h[0]
        return h, aux


class MiniMindModel(nn.Module):
    """Embedding, decoder layers, final norm (the `model.` prefix)."""

    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)  # weight [V,D]
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class MiniMindForCausalLM(nn.Module):
    """The full model: logits = final_norm(h) · Wᵀ with W = embed_tokens (tied)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = MiniMindModel(cfg)
        if cfg.tie_word_embeddings:
            self.lm_head = None
        else:
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)  # weight [V,D]

    def forward(self, ids, position_ids=None, doc_ids=None, trace=None):
        """ids [B,T] int64 -> (logits [B,T,V], aux scalar summed over MoE layers).

        position_ids [B,T] (default 0..T-1) select the RoPE angles; doc_ids
        [B,T] (default all equal) restrict attention to keys of the same
        document. Attention is always causal. When `trace` is a dict, the
        intermediate values of batch element 0 are stored in it.
        """
        B, T = ids.shape
        if position_ids is None:
            position_ids = torch.arange(T)[None, :].expand(B, T)
        causal = torch.ones(T, T, dtype=torch.bool).tril()  # [T,T] key <= query
        allowed = causal[None].expand(B, T, T)  # [B,T,T]
        if doc_ids is not None:
            same = doc_ids[:, :, None] == doc_ids[:, None, :]  # [B,T,T]
            allowed = allowed & same
        cos, sin = rope_cos_sin(self.cfg, position_ids)  # [B,T,hd]

        h = self.model.embed_tokens(ids)  # [B,T,D]
        if trace is not None:
            trace["embed"] = h[0]
        aux = h.new_zeros(())
        for i, layer in enumerate(self.model.layers):
            h, a = layer(h, cos, sin, allowed, trace, f"layers.{i}")
            aux = aux + a
        x = self.model.norm(h)  # [B,T,D]
        w = self.model.embed_tokens.weight if self.lm_head is None else self.lm_head.weight  # [V,D]
        logits = x @ w.t()  # [B,T,V]
        if trace is not None:
            trace["final_norm"] = x[0]
            trace["logits"] = logits[0]
        return logits, aux

    def load_weights(self, tensors):
        """Load a dict of HF-named tensors. With tied embeddings an lm_head.weight
        is accepted only when it equals model.embed_tokens.weight."""
        t = dict(tensors)
        if self.lm_head is None and "lm_head.weight" in t:
            if not torch.equal(t["lm_head.weight"], t["model.embed_tokens.weight"]):
                raise ValueError("lm_head.weight differs from model.embed_tokens.weight but embeddings are tied")
            del t["lm_head.weight"]
        self.load_state_dict(t, strict=True)


def causal_lm_loss(logits, labels):
    """Mean cross-entropy of logits[:, :-1] against labels[:, 1:], ignoring -100.

    logits [B,T,V], labels [B,T] -> scalar.
    """
    V = logits.shape[-1]
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, V).float(), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="mean"
    )


# ----------------------------------------------------------------------------
# Deterministic random weights
# ----------------------------------------------------------------------------


def init_random(model, seed):
    """Fill every parameter with seeded random values of realistic magnitude.

    Linear weights [out, in] ~ N(0, 1/in) (so activations stay O(1));
    RMSNorm weights 1 + 0.1·N(0,1) (so a missing or misplaced norm is caught);
    embeddings ~ N(0, 4/D) (tied logits then have a spread of about 2).
    Parameters are filled in sorted-name order from one generator.
    """
    g = torch.Generator().manual_seed(seed)
    D = model.cfg.hidden_size
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in sorted(params):
            p = params[name]
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name == "model.embed_tokens.weight":
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / math.sqrt(D)))
            else:  # linear [out, in]
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
    return model
