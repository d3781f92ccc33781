package gguf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/safetensors"
)

// Config reads the architecture of a GGUF file written for llama.cpp's
// llama, qwen3 or qwen3moe architecture (by Export or another converter).
func (f *File) Config() (model.Config, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return model.Config{}, err
	}
	var c model.Config
	switch arch {
	case ArchLlama:
		c, _ = model.Preset("minimind2-small")
	case ArchQwen3, ArchQwen3MoE:
		c, _ = model.Preset("minimind3")
	default:
		return model.Config{}, fmt.Errorf("%skey general.architecture is %q: %w (llama, qwen3 or qwen3moe)", f.prefix(), arch, ErrArch)
	}
	a := func(k string) string { return arch + "." + k }
	var errs []error
	u := func(key string, dst *int, required bool) {
		v, err := f.Uint(key)
		if err != nil {
			if required || !errors.Is(err, ErrMissing) {
				errs = append(errs, err)
			}
			return
		}
		if v == 0 || v > 1<<24 {
			errs = append(errs, fmt.Errorf("%skey %s is %d: %w", f.prefix(), key, v, ErrFormat))
			return
		}
		*dst = int(v)
	}
	u(a("embedding_length"), &c.Hidden, true)
	u(a("block_count"), &c.Layers, true)
	u(a("attention.head_count"), &c.Heads, true)
	c.KVHeads = 0
	u(a("attention.head_count_kv"), &c.KVHeads, false)
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	u(a("context_length"), &c.MaxPos, false)
	if c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	u(a("rope.dimension_count"), &c.HeadDim, false)
	u(a("attention.key_length"), &c.HeadDim, false)
	if arch == ArchQwen3MoE {
		c.UseMoE, c.Shared, c.NormTopK = true, 0, true
		u(a("expert_count"), &c.Experts, true)
		u(a("expert_used_count"), &c.TopK, true)
		u(a("expert_feed_forward_length"), &c.FFN, true)
	} else {
		u(a("feed_forward_length"), &c.FFN, true)
	}
	for _, kf := range []struct {
		key string
		dst *float64
	}{{a("rope.freq_base"), &c.RopeTheta}, {a("attention.layer_norm_rms_epsilon"), &c.NormEps}} {
		v, err := f.Float(kf.key)
		if err != nil {
			if !errors.Is(err, ErrMissing) || kf.dst == &c.NormEps {
				errs = append(errs, err)
			}
			continue
		}
		*kf.dst = v
	}
	if _, ok := f.Value(a("rope.scaling.type")); ok {
		if s, _ := f.String(a("rope.scaling.type")); s != "none" && s != "" {
			errs = append(errs, fmt.Errorf("%skey %s: rope scaling %q is not supported: %w", f.prefix(), a("rope.scaling.type"), s, ErrArch))
		}
	}
	if _, ok := f.Value(a("expert_shared_count")); ok {
		errs = append(errs, fmt.Errorf("%skey %s: shared experts are not supported: %w", f.prefix(), a("expert_shared_count"), ErrArch))
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok {
		errs = append(errs, fmt.Errorf("%stensor token_embd.weight: %w", f.prefix(), ErrMissing))
	} else if len(emb.Dims) == 2 {
		c.Vocab = int(emb.Dims[1])
	}
	_, hasOut := f.Tensor("output.weight")
	c.TieEmbedding = !hasOut
	for _, sp := range []struct {
		key string
		dst *int32
	}{{"tokenizer.ggml.bos_token_id", &c.BOS}, {"tokenizer.ggml.eos_token_id", &c.EOS}, {"tokenizer.ggml.padding_token_id", &c.PAD}} {
		if v, err := f.Uint(sp.key); err == nil && v < uint64(max(c.Vocab, 1)) {
			*sp.dst = int32(v)
		} else if err != nil && !errors.Is(err, ErrMissing) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return model.Config{}, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return model.Config{}, fmt.Errorf("%s%w", f.prefix(), err)
	}
	return c, nil
}

// Weights reads the tensors of the model described by cfg (from Config) into
// host weights, checking every tensor's shape and undoing the q/k row
// permutation of the llama architecture.
func (f *File) Weights(cfg model.Config) (*model.Weights, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	w := &model.Weights{}
	read := func(name string, shape []int) ([]float32, error) {
		ti, ok := f.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("%stensor %s (shape %v): %w", f.prefix(), name, shape, ErrMissing)
		}
		if got := ti.Shape(); !slices.Equal(got, shape) {
			return nil, fmt.Errorf("%stensor %s has shape %v, the metadata needs %v: %w", f.prefix(), name, got, shape, ErrTensor)
		}
		return f.Float32(name)
	}
	stacked := map[string][]float32{}
	used := map[string]bool{}
	for _, p := range cfg.Params(w) {
		var layer, ex int
		var proj string
		if _, err := fmt.Sscanf(p.Name, "model.layers.%d.mlp.experts.%d.%s", &layer, &ex, &proj); err == nil {
			gn := fmt.Sprintf("blk.%d.ffn_%s_exps.weight", layer, strings.TrimSuffix(proj, "_proj.weight"))
			all, ok := stacked[gn]
			if !ok {
				if all, err = read(gn, append([]int{cfg.Experts}, p.Shape...)); err != nil {
					return nil, err
				}
				stacked[gn] = all
				used[gn] = true
			}
			n := p.Size()
			*p.Ptr = &model.Host{Data: all[ex*n : (ex+1)*n]}
			continue
		}
		gn, ok := tensorName(p.Name)
		if !ok {
			return nil, fmt.Errorf("%stensor %s has no GGUF counterpart: %w", f.prefix(), p.Name, ErrArch)
		}
		used[gn] = true
		data, err := read(gn, p.Shape)
		if err != nil {
			return nil, err
		}
		if arch == ArchLlama {
			switch {
			case strings.HasSuffix(p.Name, "q_proj.weight"):
				data = permuteRows(data, cfg.Heads, cfg.HeadDim, cfg.Hidden, true)
			case strings.HasSuffix(p.Name, "k_proj.weight"):
				data = permuteRows(data, cfg.KVHeads, cfg.HeadDim, cfg.Hidden, true)
			}
		}
		*p.Ptr = &model.Host{Data: data}
	}
	for _, ti := range f.Tensors() {
		if !used[ti.Name] && ti.Name != "rope_freqs.weight" {
			return nil, fmt.Errorf("%stensor %s is not part of this %s model: %w", f.prefix(), ti.Name, arch, ErrTensor)
		}
	}
	if err := cfg.CheckFinite(w); err != nil {
		return nil, fmt.Errorf("%s%w", f.prefix(), err)
	}
	return w, nil
}

// TokenizerFiles rebuilds Hugging Face's tokenizer.json and
// tokenizer_config.json (special tokens, chat template) from the tokenizer.*
// metadata of a gpt2-style (byte-level BPE) GGUF vocabulary.
func (f *File) TokenizerFiles() (tokenizerJSON, configJSON []byte, err error) {
	if m, err := f.String("tokenizer.ggml.model"); err != nil {
		return nil, nil, err
	} else if m != "gpt2" {
		return nil, nil, fmt.Errorf("%skey tokenizer.ggml.model is %q; only byte-level BPE (gpt2) vocabularies are supported: %w", f.prefix(), m, ErrArch)
	}
	tokens, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, nil, err
	}
	types, err := f.Ints("tokenizer.ggml.token_type")
	if err != nil && !errors.Is(err, ErrMissing) {
		return nil, nil, err
	}
	if types != nil && len(types) != len(tokens) {
		return nil, nil, fmt.Errorf("%skey tokenizer.ggml.token_type has %d entries for %d tokens: %w", f.prefix(), len(types), len(tokens), ErrFormat)
	}
	merges, err := f.Strings("tokenizer.ggml.merges")
	if err != nil {
		return nil, nil, err
	}
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	var addedTokens []added
	vocab := map[string]int{}
	var order []string
	for id, s := range tokens {
		t := tokenNormal
		if types != nil {
			t = int32(types[id])
		}
		if t == tokenUnused {
			continue
		}
		if _, dup := vocab[s]; dup {
			return nil, nil, fmt.Errorf("%skey tokenizer.ggml.tokens: token %q appears twice (ids %d and %d): %w", f.prefix(), s, vocab[s], id, ErrFormat)
		}
		vocab[s] = id
		order = append(order, s)
		if t == tokenControl || t == tokenUserDefined {
			addedTokens = append(addedTokens, added{ID: id, Content: s, Special: t == tokenControl})
		}
	}
	mergePairs := make([][2]string, len(merges))
	for i, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok {
			return nil, nil, fmt.Errorf("%skey tokenizer.ggml.merges: entry %d (%q) is not two tokens: %w", f.prefix(), i, m, ErrFormat)
		}
		mergePairs[i] = [2]string{a, b}
	}
	// tokenizer.json: the vocabulary in id order, written by hand to keep it.
	var vb bytes.Buffer
	vb.WriteByte('{')
	for i, s := range order {
		if i > 0 {
			vb.WriteByte(',')
		}
		k, _ := json.Marshal(s)
		fmt.Fprintf(&vb, "%s:%d", k, vocab[s])
	}
	vb.WriteByte('}')
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
	dec := map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
	if addedTokens == nil {
		addedTokens = []added{}
	}
	tj := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": addedTokens,
		"normalizer": nil, "pre_tokenizer": byteLevel, "post_processor": nil, "decoder": dec,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": json.RawMessage(vb.Bytes()), "merges": mergePairs},
	}
	if tokenizerJSON, err = json.Marshal(tj); err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	cfg := map[string]any{"tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": false,
		"add_prefix_space": false, "legacy": true, "spaces_between_special_tokens": false}
	for _, sp := range []struct{ key, field string }{{"tokenizer.ggml.bos_token_id", "bos_token"},
		{"tokenizer.ggml.eos_token_id", "eos_token"}, {"tokenizer.ggml.padding_token_id", "pad_token"},
		{"tokenizer.ggml.unknown_token_id", "unk_token"}} {
		id, err := f.Uint(sp.key)
		if errors.Is(err, ErrMissing) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if id >= uint64(len(tokens)) {
			return nil, nil, fmt.Errorf("%skey %s is %d, outside the %d tokens: %w", f.prefix(), sp.key, id, len(tokens), ErrFormat)
		}
		cfg[sp.field] = tokens[id]
	}
	for _, b := range []struct{ key, field string }{{"tokenizer.ggml.add_bos_token", "add_bos_token"}, {"tokenizer.ggml.add_eos_token", "add_eos_token"}} {
		v, err := f.Bool(b.key)
		if err != nil && !errors.Is(err, ErrMissing) {
			return nil, nil, err
		}
		cfg[b.field] = v
	}
	if t, err := f.String("tokenizer.chat_template"); err == nil {
		cfg["chat_template"] = t
	} else if !errors.Is(err, ErrMissing) {
		return nil, nil, err
	}
	if configJSON, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		return nil, nil, fmt.Errorf("gguf: %w", err)
	}
	return tokenizerJSON, configJSON, nil
}

// losslessDType is F16 when every value of data is exactly a half, else F32.
func losslessDType(data []float32) safetensors.DType {
	for _, v := range data {
		if safetensors.F16ToFloat32(safetensors.Float32ToF16(v)) != v {
			return safetensors.F32
		}
	}
	return safetensors.F16
}

// Folder returns the model of f as an in-memory Hugging Face folder:
// config.json, model.safetensors (each tensor F16 when that is lossless,
// else F32), tokenizer.json and tokenizer_config.json. Every loader that
// reads a model folder reads a GGUF file through it.
func (f *File) Folder() (fs.FS, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	w, err := f.Weights(cfg)
	if err != nil {
		return nil, err
	}
	tj, tc, err := f.TokenizerFiles()
	if err != nil {
		return nil, err
	}
	var ts []safetensors.Tensor
	for _, p := range cfg.Params(w) {
		data := (*p.Ptr).(*model.Host).Data
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: losslessDType(data), Shape: p.Shape, Data: data})
	}
	var st bytes.Buffer
	if err := safetensors.Write(&st, ts, map[string]string{"format": "pt"}); err != nil {
		return nil, fmt.Errorf("%s%w", f.prefix(), err)
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	return fstest.MapFS{
		"config.json":           {Data: cj},
		"model.safetensors":     {Data: st.Bytes()},
		"tokenizer.json":        {Data: tj},
		"tokenizer_config.json": {Data: tc},
	}, nil
}
