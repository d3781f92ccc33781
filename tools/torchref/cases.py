"""Shared helpers for the golden generators: config.json dicts, deterministic
JSON output, and single-threaded torch for byte-for-byte reproducible files."""

import json
import os

import torch

import minimind_ref as ref
import safetensors_io as st

YARN = {
    "type": "yarn",
    "factor": 16,
    "original_max_position_embeddings": 2048,
    "beta_fast": 32,
    "beta_slow": 1,
    "attention_factor": 1.0,
}


def setup_torch():
    """One thread and deterministic algorithms, so reruns give identical bytes."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def config_dict(
    *,
    style,
    hidden,
    layers,
    heads,
    kv_heads,
    intermediate,
    eps,
    vocab=256,
    max_pos=512,
    theta=1e6,
    moe=None,
    rope_scaling=None,
):
    """A config.json dict in the form of its generation.

    style "minimind2" never writes head_dim; style "minimind3" always does.
    moe: None (dense) or dict(experts=E, topk=k, shared=S) (shared is ignored
    for minimind3).
    """
    if style not in ("minimind2", "minimind3"):
        raise ValueError(f"unknown style {style!r}")
    d = {
        "architectures": ["MiniMindForCausalLM"],
        "model_type": "minimind",
        "hidden_act": "silu",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
    }
    if style == "minimind3":
        d["head_dim"] = hidden // heads
    d.update(
        {
            "vocab_size": vocab,
            "intermediate_size": intermediate,
            "rms_norm_eps": eps,
            "rope_theta": theta,
            "max_position_embeddings": max_pos,
            "rope_scaling": rope_scaling,
            "tie_word_embeddings": True,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": 0,
            "use_moe": moe is not None,
        }
    )
    if moe is not None:
        if style == "minimind2":
            d.update(
                {
                    "n_routed_experts": moe["experts"],
                    "num_experts_per_tok": moe["topk"],
                    "n_shared_experts": moe["shared"],
                    "norm_topk_prob": True,
                    "scoring_func": "softmax",
                    "seq_aux": True,
                    "aux_loss_alpha": 0.01,
                }
            )
        else:
            d.update(
                {
                    "num_experts": moe["experts"],
                    "num_experts_per_tok": moe["topk"],
                    "router_aux_loss_coef": 5e-4,
                }
            )
    d["torch_dtype"] = "float32"
    return d


def write_json(path, obj, indent=None):
    """Deterministic JSON with a trailing newline (floats as Python repr)."""
    with open(path, "w", encoding="utf-8") as f:
        if indent is None:
            f.write(json.dumps(obj, separators=(",", ":")))
        else:
            f.write(json.dumps(obj, indent=indent))
        f.write("\n")


def build_model(cfg_dict, seed):
    """A model of cfg_dict with deterministic random weights."""
    cfg = ref.Config.from_dict(cfg_dict)
    m = ref.MiniMindForCausalLM(cfg)
    ref.init_random(m, seed)
    return m


def weights_f32(model, with_lm_head=False):
    """state_dict as float32 tensors; optionally add lm_head.weight = embedding."""
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    if with_lm_head and "lm_head.weight" not in sd:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"].clone()
    return sd


def save_weights(path, tensors):
    """Write F32 weights with the usual {"format": "pt"} metadata."""
    st.save(path, tensors, metadata={"format": "pt"})


def ensure_dir(path):
    os.makedirs(path, exist_ok=True)
    return path
