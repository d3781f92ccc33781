package convert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/safetensors"
)

// HFArchitecture returns the transformers class that computes the same
// function as c: LlamaForCausalLM for MiniMind2 dense (both rotate q/k with
// rotate_half, so the weights are used as they are), Qwen3ForCausalLM and
// Qwen3MoeForCausalLM for minimind3. MiniMind2's MoE has no such class.
func HFArchitecture(c model.Config) (arch, modelType string, err error) {
	switch {
	case c.Family == model.MiniMind2 && !c.UseMoE:
		return "LlamaForCausalLM", "llama", nil
	case c.Family == model.MiniMind3 && !c.UseMoE:
		return "Qwen3ForCausalLM", "qwen3", nil
	case c.Family == model.MiniMind3 && c.UseMoE:
		return "Qwen3MoeForCausalLM", "qwen3_moe", nil
	}
	return "", "", fmt.Errorf("convert: MiniMind2's MoE (a shared expert added to renormalised top-%d experts) has no transformers class that computes it; keep it as a MiniMind folder", c.TopK)
}

// HFConfig returns config.json for the transformers class of c.
func HFConfig(c model.Config, dtype string) (map[string]any, error) {
	arch, mt, err := HFArchitecture(c)
	if err != nil {
		return nil, err
	}
	h := map[string]any{
		"architectures":           []string{arch},
		"model_type":              mt,
		"vocab_size":              c.Vocab,
		"hidden_size":             c.Hidden,
		"intermediate_size":       c.FFN,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"hidden_act":              "silu",
		"max_position_embeddings": c.MaxPos,
		"rms_norm_eps":            c.NormEps,
		"rope_theta":              c.RopeTheta,
		"rope_scaling":            nil,
		"attention_bias":          false,
		"attention_dropout":       0.0,
		"tie_word_embeddings":     c.TieEmbedding,
		"bos_token_id":            c.BOS,
		"eos_token_id":            c.EOS,
		"pad_token_id":            c.PAD,
		"initializer_range":       0.02,
		"use_cache":               true,
		"torch_dtype":             dtype,
	}
	if rs := c.RopeScaling; rs != nil {
		h["rope_scaling"] = map[string]any{"rope_type": "yarn", "factor": rs.Factor,
			"original_max_position_embeddings": rs.OriginalMaxPositionEmbeddings,
			"beta_fast":                        rs.BetaFast, "beta_slow": rs.BetaSlow, "attention_factor": rs.AttentionFactor}
	}
	switch mt {
	case "llama":
		h["mlp_bias"] = false
		h["pretraining_tp"] = 1
	case "qwen3", "qwen3_moe":
		h["head_dim"] = c.HeadDim
		h["use_sliding_window"] = false
		h["sliding_window"] = nil
		h["max_window_layers"] = c.Layers
	}
	if mt == "qwen3_moe" {
		h["num_experts"] = c.Experts
		h["num_experts_per_tok"] = c.TopK
		h["moe_intermediate_size"] = c.FFN
		h["norm_topk_prob"] = true
		h["decoder_sparse_step"] = 1
		h["mlp_only_layers"] = []int{}
		h["router_aux_loss_coef"] = c.AuxLossCoef
		h["output_router_logits"] = false
		h["use_moe"] = true // read by MiniMind's own loader; transformers keeps it as an attribute
	}
	return h, nil
}

// HFOptions control WriteHF.
type HFOptions struct {
	DType string // "F16" (default, as MiniMind's export) or "F32"
}

// WriteHF writes a transformers folder into dir: config.json,
// model.safetensors (MiniMind's parameter names, which are those of the
// transformers classes), tokenizer.json, tokenizer_config.json and
// generation_config.json. Each file is written atomically.
func WriteHF(src *Source, dir string, opt HFOptions) error {
	dt := safetensors.DType(opt.DType)
	if dt == "" {
		dt = safetensors.F16
	}
	torchDType := map[safetensors.DType]string{safetensors.F16: "float16", safetensors.F32: "float32", safetensors.BF16: "bfloat16"}[dt]
	if torchDType == "" {
		return fmt.Errorf("convert: cannot write %s weights (F16, BF16 or F32)", opt.DType)
	}
	cfg, err := HFConfig(src.Config, torchDType)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	var ts []safetensors.Tensor
	for _, p := range src.Config.Params(src.Weights) {
		h, ok := (*p.Ptr).(*model.Host)
		if !ok || h == nil {
			return fmt.Errorf("convert: tensor %s is not on the host", p.Name)
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: dt, Shape: p.Shape, Data: h.Data})
	}
	if err := safetensors.WriteFile(filepath.Join(dir, checkpoint.SafetensorsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, checkpoint.ConfigFile), cfg); err != nil {
		return err
	}
	eos := []int32{src.Config.EOS}
	for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
		if id, ok := src.Tok.TokenToID(s); ok && id != eos[0] {
			eos = append(eos, id)
		}
	}
	gen := map[string]any{"bos_token_id": src.Config.BOS, "eos_token_id": eos, "pad_token_id": src.Config.PAD,
		"do_sample": true, "temperature": 0.85, "top_p": 0.85}
	if err := writeJSON(filepath.Join(dir, "generation_config.json"), gen); err != nil {
		return err
	}
	if err := src.Tok.Save(dir); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return checkpoint.WriteFileAtomic(path, append(data, '\n'))
}
