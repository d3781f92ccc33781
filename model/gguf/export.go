package gguf

import (
	"fmt"
	"io"
	"strings"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/tokenizer"
)

// ExportOptions control Export.
type ExportOptions struct {
	// Type is the element type of the matrices (F32 when zero). Norm
	// weights and MoE routers stay F32; a matrix whose rows are not a whole
	// number of 32-value blocks falls back to F16.
	Type TensorType
	// Name is general.name (default "MiniMind").
	Name string
}

// Export writes cfg, its host weights w and the tokenizer (with its chat
// template) as a GGUF file that llama.cpp and ollama run as is.
func Export(out io.Writer, cfg model.Config, w *model.Weights, tok *tokenizer.Tokenizer, opt ExportOptions) error {
	kvs, tensors, err := Build(cfg, w, tok, opt)
	if err != nil {
		return err
	}
	return Write(out, kvs, tensors)
}

// Build returns the metadata and tensors Export writes.
func Build(cfg model.Config, w *model.Weights, tok *tokenizer.Tokenizer, opt ExportOptions) ([]KV, []Tensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	arch, err := ArchFor(cfg)
	if err != nil {
		return nil, nil, err
	}
	typ := opt.Type
	if typ != F32 && typ != F16 && typ != Q8_0 && typ != Q4_0 {
		return nil, nil, fmt.Errorf("gguf: cannot export as %v (f32, f16, q8_0, q4_0)", typ)
	}
	name := opt.Name
	if name == "" {
		name = "MiniMind"
	}
	a := func(k string) string { return arch + "." + k }
	kvs := []KV{
		{"general.architecture", arch},
		{"general.name", name},
		{"general.file_type", FileType(typ)},
		{"general.quantization_version", uint32(2)},
		{a("vocab_size"), uint32(cfg.Vocab)},
		{a("context_length"), uint32(cfg.MaxPos)},
		{a("embedding_length"), uint32(cfg.Hidden)},
		{a("block_count"), uint32(cfg.Layers)},
		{a("feed_forward_length"), uint32(cfg.FFN)},
		{a("attention.head_count"), uint32(cfg.Heads)},
		{a("attention.head_count_kv"), uint32(cfg.KVHeads)},
		{a("attention.key_length"), uint32(cfg.HeadDim)},
		{a("attention.value_length"), uint32(cfg.HeadDim)},
		{a("rope.dimension_count"), uint32(cfg.HeadDim)},
		{a("rope.freq_base"), float32(cfg.RopeTheta)},
		{a("attention.layer_norm_rms_epsilon"), float32(cfg.NormEps)},
	}
	if cfg.UseMoE {
		kvs = append(kvs,
			KV{a("expert_count"), uint32(cfg.Experts)},
			KV{a("expert_used_count"), uint32(cfg.TopK)},
			KV{a("expert_feed_forward_length"), uint32(cfg.FFN)})
	}
	tk, err := tokenizerKVs(cfg, tok)
	if err != nil {
		return nil, nil, err
	}
	kvs = append(kvs, tk...)

	var tensors []Tensor
	matType := func(cols int) TensorType {
		if (typ == Q8_0 || typ == Q4_0) && cols%QK != 0 {
			return F16
		}
		return typ
	}
	params := cfg.Params(w)
	experts := map[string][]float32{} // GGUF name of a stacked expert tensor → data
	var expertOrder []string
	expertShape := map[string][]int{}
	for _, p := range params {
		hst, ok := (*p.Ptr).(*model.Host)
		if !ok || hst == nil || len(hst.Data) != p.Size() {
			return nil, nil, fmt.Errorf("gguf: tensor %s is missing, not on the host or has the wrong size", p.Name)
		}
		data := hst.Data
		var layer, ex int
		var proj string
		if _, err := fmt.Sscanf(p.Name, "model.layers.%d.mlp.experts.%d.%s", &layer, &ex, &proj); err == nil {
			gn := fmt.Sprintf("blk.%d.ffn_%s_exps.weight", layer, strings.TrimSuffix(proj, "_proj.weight"))
			if _, seen := experts[gn]; !seen {
				expertOrder = append(expertOrder, gn)
				expertShape[gn] = append([]int{cfg.Experts}, p.Shape...)
			}
			experts[gn] = append(experts[gn], data...)
			continue
		}
		gn, ok := tensorName(p.Name)
		if !ok {
			return nil, nil, fmt.Errorf("gguf: tensor %s has no %s counterpart", p.Name, arch)
		}
		if arch == ArchLlama {
			switch {
			case strings.HasSuffix(p.Name, "q_proj.weight"):
				data = permuteRows(data, cfg.Heads, cfg.HeadDim, cfg.Hidden, false)
			case strings.HasSuffix(p.Name, "k_proj.weight"):
				data = permuteRows(data, cfg.KVHeads, cfg.HeadDim, cfg.Hidden, false)
			}
		}
		t := F32
		if len(p.Shape) == 2 && !strings.HasSuffix(gn, "ffn_gate_inp.weight") {
			t = matType(p.Shape[1])
		}
		tensors = append(tensors, Tensor{Name: gn, Shape: p.Shape, Type: t, Data: data})
	}
	for _, gn := range expertOrder {
		sh := expertShape[gn]
		tensors = append(tensors, Tensor{Name: gn, Shape: sh, Type: matType(sh[2]), Data: experts[gn]})
	}
	return kvs, tensors, nil
}

// tokenizerKVs returns the tokenizer.* metadata: the byte-level BPE vocabulary
// (padded with unused tokens up to the model's vocabulary), the token types,
// the merges, the special ids and the chat template.
func tokenizerKVs(cfg model.Config, tok *tokenizer.Tokenizer) ([]KV, error) {
	if tok == nil {
		return nil, fmt.Errorf("gguf: a tokenizer is required")
	}
	if tok.VocabSize() > cfg.Vocab {
		return nil, fmt.Errorf("gguf: the tokenizer has %d tokens but the model only %d", tok.VocabSize(), cfg.Vocab)
	}
	tokens := make([]string, cfg.Vocab)
	types := make([]int32, cfg.Vocab)
	added := map[int32]tokenizer.AddedToken{}
	for _, at := range tok.AddedTokens() {
		added[at.ID] = at
	}
	for id := range int32(cfg.Vocab) {
		s, ok := tok.IDToToken(id)
		switch at, isAdded := added[id]; {
		case !ok:
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), tokenUnused
		case isAdded && at.Special:
			tokens[id], types[id] = s, tokenControl
		case isAdded:
			tokens[id], types[id] = s, tokenUserDefined
		default:
			tokens[id], types[id] = s, tokenNormal
		}
	}
	var merges []string
	for _, m := range tok.Merges() {
		merges = append(merges, m[0]+" "+m[1])
	}
	kvs := []KV{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "gpt-2"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", merges},
	}
	special := func(which string, def int32) uint32 {
		if id, ok := tok.SpecialID(which); ok {
			return uint32(id)
		}
		return uint32(def)
	}
	kvs = append(kvs,
		KV{"tokenizer.ggml.bos_token_id", special("bos", cfg.BOS)},
		KV{"tokenizer.ggml.eos_token_id", special("eos", cfg.EOS)},
		KV{"tokenizer.ggml.padding_token_id", special("pad", cfg.PAD)})
	if id, ok := tok.SpecialID("unk"); ok {
		kvs = append(kvs, KV{"tokenizer.ggml.unknown_token_id", uint32(id)})
	}
	var addBOS, addEOS bool
	if c := tok.Config(); c != nil {
		addBOS, addEOS = c.AddBOSToken, c.AddEOSToken
	}
	kvs = append(kvs, KV{"tokenizer.ggml.add_bos_token", addBOS}, KV{"tokenizer.ggml.add_eos_token", addEOS})
	if c := tok.Config(); c != nil && c.ChatTemplate != "" {
		kvs = append(kvs, KV{"tokenizer.chat_template", c.ChatTemplate})
	}
	return kvs, nil
}
