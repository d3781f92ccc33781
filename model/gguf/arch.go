package gguf

import (
	"fmt"

	"github.com/minimind-go/minimind/model"
)

// The llama.cpp architectures a MiniMind model is written as.
const (
	ArchLlama    = "llama"    // MiniMind2 dense: q/k rows permuted for llama.cpp's RoPE pairs
	ArchQwen3    = "qwen3"    // minimind3 dense: q/k-norm, NeoX RoPE
	ArchQwen3MoE = "qwen3moe" // minimind3 MoE: top-k with renormalised weights
)

// Token types of tokenizer.ggml.token_type.
const (
	tokenNormal      int32 = 1
	tokenControl     int32 = 3
	tokenUserDefined int32 = 4
	tokenUnused      int32 = 5
)

// ErrArch is wrapped by errors about an architecture this package cannot map.
var ErrArch = fmt.Errorf("unsupported architecture")

// ArchFor returns the llama.cpp architecture that computes the same function
// as c. MiniMind2's MoE (a shared expert added to renormalised top-k experts)
// has no llama.cpp counterpart, and YaRN's details differ from llama.cpp's,
// so both are refused with an explanation.
func ArchFor(c model.Config) (string, error) {
	if c.RopeScaling != nil {
		return "", fmt.Errorf("gguf: %w: YaRN rope scaling is not exported (llama.cpp's YaRN attention factor differs from MiniMind's); export the model without rope_scaling", ErrArch)
	}
	switch {
	case c.Family == model.MiniMind2 && !c.UseMoE:
		return ArchLlama, nil
	case c.Family == model.MiniMind3 && !c.UseMoE:
		return ArchQwen3, nil
	case c.Family == model.MiniMind3 && c.UseMoE:
		return ArchQwen3MoE, nil
	}
	return "", fmt.Errorf("gguf: %w: MiniMind2's MoE adds %d shared expert(s) to renormalised top-%d routing; "+
		"no llama.cpp architecture computes that (qwen2moe gates its shared expert with a sigmoid and does not renormalise, "+
		"deepseek2 needs MLA attention)", ErrArch, c.Shared, c.TopK)
}

// tensorNames maps a MiniMind (Hugging Face) parameter name to the GGUF
// tensor name; expert tensors are handled separately.
func tensorName(hf string) (string, bool) {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight", true
	case "model.norm.weight":
		return "output_norm.weight", true
	case "lm_head.weight":
		return "output.weight", true
	}
	var layer int
	var rest string
	if _, err := fmt.Sscanf(hf, "model.layers.%d.%s", &layer, &rest); err != nil {
		return "", false
	}
	short, ok := map[string]string{
		"input_layernorm.weight":          "attn_norm.weight",
		"self_attn.q_proj.weight":         "attn_q.weight",
		"self_attn.k_proj.weight":         "attn_k.weight",
		"self_attn.v_proj.weight":         "attn_v.weight",
		"self_attn.o_proj.weight":         "attn_output.weight",
		"self_attn.q_norm.weight":         "attn_q_norm.weight",
		"self_attn.k_norm.weight":         "attn_k_norm.weight",
		"post_attention_layernorm.weight": "ffn_norm.weight",
		"mlp.gate_proj.weight":            "ffn_gate.weight",
		"mlp.up_proj.weight":              "ffn_up.weight",
		"mlp.down_proj.weight":            "ffn_down.weight",
		"mlp.gate.weight":                 "ffn_gate_inp.weight",
	}[rest]
	if !ok {
		return "", false
	}
	return fmt.Sprintf("blk.%d.%s", layer, short), true
}

// permuteRows reorders the rows of a q_proj or k_proj weight w [heads·hd, cols]
// from MiniMind's rotate_half layout, where RoPE pairs dimension i with
// i + hd/2 of each head, to llama.cpp's, where it pairs 2i with 2i+1:
// new row 2i+j of a head is old row j·hd/2 + i. inverse undoes it.
func permuteRows(w []float32, heads, hd, cols int, inverse bool) []float32 {
	out := make([]float32, len(w)) // [heads·hd, cols]
	half := hd / 2
	for h := range heads {
		for i := range half {
			for j := range 2 {
				dst := h*hd + 2*i + j
				src := h*hd + j*half + i
				if inverse {
					dst, src = src, dst
				}
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}
