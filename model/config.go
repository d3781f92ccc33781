package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
)

// Family tells the two MiniMind generations apart. They differ in q/k-norm,
// MoE routing (renormalising top-1 or not) and the auxiliary loss.
type Family string

const (
	// MiniMind2 is the 2025 generation: Llama-style, MoE with shared experts.
	MiniMind2 Family = "minimind2"
	// MiniMind3 is the 2026 generation: Qwen3-style with q_norm/k_norm.
	MiniMind3 Family = "minimind3"
)

// RopeScaling describes YaRN context extension (inference only).
type RopeScaling struct {
	Type                          string  `json:"type"`
	Factor                        float64 `json:"factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
	BetaFast                      float64 `json:"beta_fast"`
	BetaSlow                      float64 `json:"beta_slow"`
	AttentionFactor               float64 `json:"attention_factor"`
}

// DefaultYaRN returns MiniMind's YaRN settings: factor 16, original 2048,
// beta_fast 32, beta_slow 1, attention factor 1.
func DefaultYaRN() *RopeScaling {
	return &RopeScaling{Type: "yarn", Factor: 16, OriginalMaxPositionEmbeddings: 2048, BetaFast: 32, BetaSlow: 1, AttentionFactor: 1}
}

// Config is a MiniMind architecture. The JSON form is the Hugging Face
// config.json that MiniMind writes (see MarshalJSON / ParseConfig).
type Config struct {
	Family       Family
	Vocab        int     // vocab_size
	Hidden       int     // hidden_size (D)
	Layers       int     // num_hidden_layers
	Heads        int     // num_attention_heads (H)
	KVHeads      int     // num_key_value_heads (KVH)
	HeadDim      int     // head_dim (hd); Hidden/Heads for MiniMind2
	FFN          int     // intermediate_size (per expert for MoE)
	NormEps      float64 // rms_norm_eps
	RopeTheta    float64 // rope_theta
	MaxPos       int     // max_position_embeddings
	RopeScaling  *RopeScaling
	TieEmbedding bool // tie_word_embeddings

	// MoE (UseMoE false means dense).
	UseMoE        bool
	Experts       int     // n_routed_experts / num_experts (E)
	TopK          int     // num_experts_per_tok (k)
	Shared        int     // n_shared_experts (MiniMind2 only)
	NormTopK      bool    // norm_topk_prob (MiniMind2; always true for MiniMind3)
	AuxLossCoef   float64 // aux_loss_alpha (MiniMind2) / router_aux_loss_coef (MiniMind3)
	BOS, EOS, PAD int32   // special token ids
}

// QKNorm reports whether attention normalises q and k per head (MiniMind3).
func (c Config) QKNorm() bool { return c.Family == MiniMind3 }

// MiniMind2FFN is MiniMind2's intermediate size: 64·ceil(int(hidden·8/3)/64).
func MiniMind2FFN(hidden int) int {
	x := hidden * 8 / 3
	return 64 * ((x + 63) / 64)
}

// MiniMind3FFN is minimind3's intermediate size: 64·ceil(hidden·π/64).
func MiniMind3FFN(hidden int) int {
	return 64 * int(math.Ceil(float64(hidden)*math.Pi/64))
}

func base2(hidden, layers, heads, kv int) Config {
	return Config{Family: MiniMind2, Vocab: 6400, Hidden: hidden, Layers: layers, Heads: heads, KVHeads: kv,
		HeadDim: hidden / heads, FFN: MiniMind2FFN(hidden), NormEps: 1e-5, RopeTheta: 1e6, MaxPos: 32768,
		TieEmbedding: true, NormTopK: true, AuxLossCoef: 0.01, BOS: 1, EOS: 2, PAD: 0}
}

func base3(hidden, layers, heads, kv int) Config {
	return Config{Family: MiniMind3, Vocab: 6400, Hidden: hidden, Layers: layers, Heads: heads, KVHeads: kv,
		HeadDim: hidden / heads, FFN: MiniMind3FFN(hidden), NormEps: 1e-6, RopeTheta: 1e6, MaxPos: 32768,
		TieEmbedding: true, NormTopK: true, AuxLossCoef: 5e-4, BOS: 1, EOS: 2, PAD: 0}
}

func withMoE(c Config, experts, topk, shared int) Config {
	c.UseMoE, c.Experts, c.TopK, c.Shared = true, experts, topk, shared
	return c
}

// Presets returns the named architectures: MiniMind's released sizes
// (MINIMIND.md) and tiny ones for tests and quick experiments.
func Presets() map[string]Config {
	m2moe := withMoE(base2(640, 8, 8, 2), 4, 2, 1)
	m3moe := withMoE(base3(768, 8, 8, 4), 4, 1, 0)
	tiny := base2(64, 2, 4, 2)
	tiny3 := base3(64, 2, 4, 2)
	return map[string]Config{
		"minimind2-small": base2(512, 8, 8, 2),
		"minimind2":       base2(768, 16, 8, 2),
		"minimind2-moe":   m2moe,
		"minimind3":       base3(768, 8, 8, 4),
		"minimind3-moe":   m3moe,
		// zero: the small dense model of the embedded MiniMind-Zero run
		// (2.8M parameters, sized to train in minutes on two CPU cores).
		"zero":      base2(192, 4, 3, 1),
		"tiny":      tiny,
		"tiny-moe":  withMoE(tiny, 4, 2, 1),
		"tiny3":     tiny3,
		"tiny3-moe": withMoE(tiny3, 4, 1, 0),
	}
}

// PresetNames lists the preset names in a stable order.
func PresetNames() []string {
	p := Presets()
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the named preset.
func Preset(name string) (Config, error) {
	c, ok := Presets()[name]
	if !ok {
		return Config{}, fmt.Errorf("model: unknown preset %q (have %v)", name, PresetNames())
	}
	return c, nil
}

// Validate checks that the configuration is internally consistent.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be > 0, got %d", name, v))
		}
	}
	pos("vocab_size", c.Vocab)
	pos("hidden_size", c.Hidden)
	pos("num_hidden_layers", c.Layers)
	pos("num_attention_heads", c.Heads)
	pos("num_key_value_heads", c.KVHeads)
	pos("head_dim", c.HeadDim)
	pos("intermediate_size", c.FFN)
	pos("max_position_embeddings", c.MaxPos)
	if c.Heads > 0 && c.KVHeads > 0 && c.Heads%c.KVHeads != 0 {
		errs = append(errs, fmt.Errorf("num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", c.Heads, c.KVHeads))
	}
	if c.HeadDim%2 != 0 {
		errs = append(errs, fmt.Errorf("head_dim must be even for RoPE, got %d", c.HeadDim))
	}
	if c.Family != MiniMind2 && c.Family != MiniMind3 {
		errs = append(errs, fmt.Errorf("unknown family %q", c.Family))
	}
	if c.NormEps <= 0 || c.RopeTheta <= 1 {
		errs = append(errs, fmt.Errorf("rms_norm_eps (%g) must be > 0 and rope_theta (%g) > 1", c.NormEps, c.RopeTheta))
	}
	if c.UseMoE {
		pos("n_routed_experts", c.Experts)
		if c.TopK <= 0 || c.TopK > c.Experts {
			errs = append(errs, fmt.Errorf("num_experts_per_tok (%d) must be in 1..%d", c.TopK, c.Experts))
		}
		if c.Shared < 0 {
			errs = append(errs, fmt.Errorf("n_shared_experts must be >= 0, got %d", c.Shared))
		}
	}
	if c.Vocab > 1<<24 || c.Hidden > 1<<16 || c.Layers > 1024 || c.FFN > 1<<18 || c.Experts > 1024 || c.MaxPos > 1<<22 {
		errs = append(errs, errors.New("dimensions are implausibly large"))
	}
	if rs := c.RopeScaling; rs != nil {
		if rs.Factor <= 0 || rs.OriginalMaxPositionEmbeddings <= 0 || rs.BetaFast <= 0 || rs.BetaSlow <= 0 {
			errs = append(errs, fmt.Errorf("rope_scaling: factor, original_max_position_embeddings, beta_fast and beta_slow must be > 0"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("model: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// ffnParams is the parameter count of one SwiGLU block.
func (c Config) ffnParams() int { return 3 * c.Hidden * c.FFN }

// ParamCount returns the number of parameters, counting tied embeddings once.
func (c Config) ParamCount() int {
	d := c.Hidden
	attn := d*c.Heads*c.HeadDim*2 + d*c.KVHeads*c.HeadDim*2
	if c.QKNorm() {
		attn += 2 * c.HeadDim
	}
	ffn := c.ffnParams()
	if c.UseMoE {
		ffn = (c.Experts+c.Shared)*c.ffnParams() + c.Experts*d
	}
	n := c.Vocab*d + c.Layers*(attn+ffn+2*d) + d
	if !c.TieEmbedding {
		n += c.Vocab * d
	}
	return n
}

// ActiveParamCount returns the parameters used per token (MoE: k routed + shared experts).
func (c Config) ActiveParamCount() int {
	if !c.UseMoE {
		return c.ParamCount()
	}
	return c.ParamCount() - c.Layers*(c.Experts-c.TopK)*c.ffnParams()
}

// hfConfig is config.json as MiniMind's transformers export writes it.
type hfConfig struct {
	Architectures         []string     `json:"architectures,omitempty"`
	ModelType             string       `json:"model_type,omitempty"`
	HiddenAct             string       `json:"hidden_act,omitempty"`
	HiddenSize            int          `json:"hidden_size"`
	NumHiddenLayers       int          `json:"num_hidden_layers"`
	NumAttentionHeads     int          `json:"num_attention_heads"`
	NumKeyValueHeads      int          `json:"num_key_value_heads"`
	HeadDim               *int         `json:"head_dim,omitempty"`
	VocabSize             int          `json:"vocab_size"`
	IntermediateSize      int          `json:"intermediate_size"`
	RMSNormEps            float64      `json:"rms_norm_eps"`
	RopeTheta             float64      `json:"rope_theta"`
	MaxPositionEmbeddings int          `json:"max_position_embeddings"`
	RopeScaling           *RopeScaling `json:"rope_scaling"`
	TieWordEmbeddings     *bool        `json:"tie_word_embeddings,omitempty"`
	BOSTokenID            *int32       `json:"bos_token_id,omitempty"`
	EOSTokenID            *int32       `json:"eos_token_id,omitempty"`
	PadTokenID            *int32       `json:"pad_token_id,omitempty"`
	UseMoE                bool         `json:"use_moe"`
	NumExpertsPerTok      int          `json:"num_experts_per_tok,omitempty"`
	NRoutedExperts        int          `json:"n_routed_experts,omitempty"`
	NSharedExperts        *int         `json:"n_shared_experts,omitempty"`
	NumExperts            int          `json:"num_experts,omitempty"`
	NormTopKProb          *bool        `json:"norm_topk_prob,omitempty"`
	AuxLossAlpha          *float64     `json:"aux_loss_alpha,omitempty"`
	RouterAuxLossCoef     *float64     `json:"router_aux_loss_coef,omitempty"`
	TorchDtype            string       `json:"torch_dtype,omitempty"`
}

// ParseConfig reads a Hugging Face config.json of either generation. The
// generation is MiniMind3 when head_dim or num_experts is present.
func ParseConfig(data []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return Config{}, fmt.Errorf("model: config.json: %w", err)
	}
	c := Config{Family: MiniMind2, Vocab: h.VocabSize, Hidden: h.HiddenSize, Layers: h.NumHiddenLayers,
		Heads: h.NumAttentionHeads, KVHeads: h.NumKeyValueHeads, FFN: h.IntermediateSize,
		NormEps: h.RMSNormEps, RopeTheta: h.RopeTheta, MaxPos: h.MaxPositionEmbeddings,
		RopeScaling: h.RopeScaling, TieEmbedding: true, UseMoE: h.UseMoE, TopK: h.NumExpertsPerTok,
		Experts: h.NRoutedExperts, NormTopK: true, AuxLossCoef: 0.01, BOS: 1, EOS: 2, PAD: 0}
	if h.HeadDim != nil || h.NumExperts > 0 || h.RouterAuxLossCoef != nil {
		c.Family = MiniMind3
		c.AuxLossCoef = 5e-4
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if h.HeadDim != nil {
		c.HeadDim = *h.HeadDim
	}
	if c.NormEps == 0 {
		c.NormEps = 1e-5
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 1e6
	}
	if c.MaxPos == 0 {
		c.MaxPos = 32768
	}
	if h.TieWordEmbeddings != nil {
		c.TieEmbedding = *h.TieWordEmbeddings
	}
	if h.NumExperts > 0 {
		c.Experts = h.NumExperts
	}
	if c.UseMoE && c.Family == MiniMind2 {
		c.Shared = 1
		if h.NSharedExperts != nil {
			c.Shared = *h.NSharedExperts
		}
		if c.Experts == 0 {
			c.Experts = 4
		}
		if c.TopK == 0 {
			c.TopK = 2
		}
	}
	if c.UseMoE && c.Family == MiniMind3 && c.TopK == 0 {
		c.TopK = 1
	}
	if h.NormTopKProb != nil {
		c.NormTopK = *h.NormTopKProb
	}
	if h.AuxLossAlpha != nil {
		c.AuxLossCoef = *h.AuxLossAlpha
	}
	if h.RouterAuxLossCoef != nil {
		c.AuxLossCoef = *h.RouterAuxLossCoef
	}
	if rs := c.RopeScaling; rs != nil {
		if rs.Type == "" {
			rs.Type = "yarn"
		}
		if rs.Type != "yarn" {
			return Config{}, fmt.Errorf("model: config.json: rope_scaling.type %q is not supported (only yarn)", rs.Type)
		}
		if rs.AttentionFactor == 0 {
			rs.AttentionFactor = 1
		}
	}
	if h.BOSTokenID != nil {
		c.BOS = *h.BOSTokenID
	}
	if h.EOSTokenID != nil {
		c.EOS = *h.EOSTokenID
	}
	if h.PadTokenID != nil {
		c.PAD = *h.PadTokenID
	}
	if !c.UseMoE {
		c.Experts, c.TopK, c.Shared = 0, 0, 0
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	return c, nil
}

// MarshalJSON writes the Hugging Face config.json of c, in the form of its
// generation (MiniMind2 → LlamaForCausalLM keys, MiniMind3 → Qwen3 keys).
func (c Config) MarshalJSON() ([]byte, error) {
	tie := c.TieEmbedding
	bos, eos, pad := c.BOS, c.EOS, c.PAD
	h := hfConfig{ModelType: "minimind", Architectures: []string{"MiniMindForCausalLM"}, HiddenAct: "silu",
		HiddenSize: c.Hidden, NumHiddenLayers: c.Layers, NumAttentionHeads: c.Heads, NumKeyValueHeads: c.KVHeads,
		VocabSize: c.Vocab, IntermediateSize: c.FFN, RMSNormEps: c.NormEps, RopeTheta: c.RopeTheta,
		MaxPositionEmbeddings: c.MaxPos, RopeScaling: c.RopeScaling, TieWordEmbeddings: &tie,
		BOSTokenID: &bos, EOSTokenID: &eos, PadTokenID: &pad, UseMoE: c.UseMoE, TorchDtype: "float32"}
	coef := c.AuxLossCoef
	if c.Family == MiniMind3 {
		hd := c.HeadDim
		h.HeadDim = &hd
		if c.UseMoE {
			h.NumExperts, h.NumExpertsPerTok = c.Experts, c.TopK
			h.RouterAuxLossCoef = &coef
		}
	} else if c.UseMoE {
		sh, nt := c.Shared, c.NormTopK
		h.NRoutedExperts, h.NumExpertsPerTok, h.NSharedExperts, h.NormTopKProb = c.Experts, c.TopK, &sh, &nt
		h.AuxLossAlpha = &coef
	}
	return json.MarshalIndent(h, "", "  ")
}
