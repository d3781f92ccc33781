// Package checkpoint reads and writes MiniMind checkpoints: the Hugging Face
// folder layout (config.json + model.safetensors, F32/F16/BF16) and
// MiniMind's native PyTorch state-dict files (.pth). Every error names the
// file and, where there is one, the tensor.
package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/model/pth"
	"github.com/minimind-go/minimind/model/safetensors"
)

// Names of the files in a checkpoint folder.
const (
	ConfigFile      = "config.json"
	SafetensorsFile = "model.safetensors"
)

// ErrNotCheckpoint is returned when a path holds no model files.
var ErrNotCheckpoint = errors.New("checkpoint: not a MiniMind checkpoint")

// source is a set of named tensors that can be read one by one.
type source struct {
	file   string
	shapes map[string][]int
	read   func(name string) ([]float32, error)
}

// Load reads a model from path: a folder holding config.json and
// model.safetensors (or a .pth file), a .safetensors file with config.json
// beside it, a MiniMind .pth file (the architecture comes from a
// config.json beside it when there is one, else it is inferred from the
// tensor shapes with MiniMind's head counts), or a GGUF file (see GGUFFolder).
func Load(path string) (model.Config, *model.Weights, error) {
	if IsGGUF(path) {
		g, err := gguf.Open(path)
		if err != nil {
			return model.Config{}, nil, fmt.Errorf("checkpoint: %w", err)
		}
		defer g.Close()
		return loadGGUF(g)
	}
	st, err := os.Stat(path)
	if err != nil {
		return model.Config{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	dir, file := path, ""
	if !st.IsDir() {
		dir, file = filepath.Dir(path), filepath.Base(path)
	}
	return LoadFS(os.DirFS(dir), file)
}

// LoadFS reads a model from fsys: file names a .safetensors or .pth file, or
// is empty to look for model.safetensors (else a single .pth) in the root.
// config.json in the root describes the architecture.
func LoadFS(fsys fs.FS, file string) (model.Config, *model.Weights, error) {
	if IsGGUF(file) {
		g, err := gguf.OpenFS(fsys, file)
		if err != nil {
			return model.Config{}, nil, fmt.Errorf("checkpoint: %w", err)
		}
		defer g.Close()
		return loadGGUF(g)
	}
	if file == "" {
		if _, err := fs.Stat(fsys, SafetensorsFile); err == nil {
			file = SafetensorsFile
		} else if m, _ := fs.Glob(fsys, "*.pth"); len(m) == 1 {
			file = m[0]
		} else {
			return model.Config{}, nil, fmt.Errorf("%w: no %s or single .pth file found", ErrNotCheckpoint, SafetensorsFile)
		}
	}
	src, closer, err := openSource(fsys, file)
	if err != nil {
		return model.Config{}, nil, err
	}
	defer closer()
	var cfg model.Config
	if data, err := fs.ReadFile(fsys, ConfigFile); err == nil {
		if cfg, err = model.ParseConfig(data); err != nil {
			return model.Config{}, nil, fmt.Errorf("checkpoint: %s: %w", ConfigFile, err)
		}
	} else if strings.HasSuffix(file, ".pth") {
		if cfg, err = InferConfig(src.shapes); err != nil {
			return model.Config{}, nil, fmt.Errorf("checkpoint: %s: %w", file, err)
		}
	} else {
		return model.Config{}, nil, fmt.Errorf("%w: %s is missing next to %s", ErrNotCheckpoint, ConfigFile, file)
	}
	w, err := fromSource(cfg, src)
	if err != nil {
		return model.Config{}, nil, err
	}
	return cfg, w, nil
}

// loadGGUF reads the architecture and weights of a GGUF file: the same
// values as LoadFS reads from its GGUFFolder (whose safetensors hold every
// tensor losslessly), without building that folder in memory, which held
// the weights three times over at once.
func loadGGUF(g *gguf.File) (model.Config, *model.Weights, error) {
	cfg, err := g.Config()
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return model.Config{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	w, err := g.Weights(cfg)
	if err != nil {
		return model.Config{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	// A GGUF file loads only with its tokenizer, as through GGUFFolder.
	if _, _, err := g.TokenizerFiles(); err != nil {
		return model.Config{}, nil, fmt.Errorf("checkpoint: %w", err)
	}
	return cfg, w, nil
}

// GGUFTokenizer returns the tokenizer of the GGUF file at path as an
// in-memory folder holding tokenizer.json and tokenizer_config.json (what
// tokenizer.LoadFS reads), without its weights.
func GGUFTokenizer(path string) (fs.FS, error) {
	g, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer g.Close()
	tj, tc, err := g.TokenizerFiles()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return fstest.MapFS{"tokenizer.json": {Data: tj}, "tokenizer_config.json": {Data: tc}}, nil
}

// IsGGUF reports whether path names a GGUF file (by its extension).
func IsGGUF(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".gguf") }

// GGUFFolder reads a GGUF file (llama.cpp's llama, qwen3 or qwen3moe
// architecture; f32, f16, bf16, q8_0 or q4_0 tensors) and returns it as an
// in-memory model folder (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json), so every loader of model folders reads it.
func GGUFFolder(path string) (fs.FS, error) {
	g, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer g.Close()
	folder, err := g.Folder()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return folder, nil
}

func openSource(fsys fs.FS, file string) (*source, func(), error) {
	switch {
	case strings.HasSuffix(file, ".pth") || strings.HasSuffix(file, ".pt"):
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint: %w", err)
		}
		ts, err := pth.Read(bytes.NewReader(data), int64(len(data)), file)
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint: %w", err)
		}
		src := &source{file: file, shapes: map[string][]int{}}
		byName := map[string][]float32{}
		for _, t := range ts {
			name := stripPrefix(t.Name)
			src.shapes[name] = t.Shape
			byName[name] = t.Data
		}
		src.read = func(name string) ([]float32, error) { return byName[name], nil }
		return src, func() {}, nil
	default:
		f, err := safetensors.OpenFS(fsys, file)
		if err != nil {
			return nil, nil, fmt.Errorf("checkpoint: %w", err)
		}
		src := &source{file: file, shapes: map[string][]int{}}
		for _, ti := range f.Tensors() {
			src.shapes[stripPrefix(ti.Name)] = ti.Shape
		}
		orig := map[string]string{}
		for _, n := range f.Names() {
			orig[stripPrefix(n)] = n
		}
		src.read = func(name string) ([]float32, error) { return f.Float32(orig[name]) }
		return src, func() { f.Close() }, nil
	}
}

// stripPrefix removes the wrappers that torch.compile and DDP add to names.
func stripPrefix(name string) string {
	for _, p := range []string{"_orig_mod.", "module."} {
		name = strings.TrimPrefix(name, p)
	}
	return name
}

// fromSource checks names and shapes against cfg and reads the tensors.
func fromSource(cfg model.Config, src *source) (*model.Weights, error) {
	w := &model.Weights{}
	params := cfg.Params(w)
	want := map[string]bool{}
	var errs []error
	for _, p := range params {
		want[p.Name] = true
		shape, ok := src.shapes[p.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %s (shape %v) is missing", p.Name, p.Shape))
			continue
		}
		if !slices.Equal(shape, p.Shape) {
			errs = append(errs, fmt.Errorf("tensor %s has shape %v, the config needs %v", p.Name, shape, p.Shape))
		}
	}
	var lmHead []int
	var unknown []string
	for name, shape := range src.shapes {
		if want[name] {
			continue
		}
		if name == "lm_head.weight" && cfg.TieEmbedding {
			lmHead = shape
			continue
		}
		unknown = append(unknown, name)
	}
	sort.Strings(unknown)
	for _, n := range unknown {
		errs = append(errs, fmt.Errorf("tensor %s is not part of this architecture", n))
	}
	if lmHead != nil && !slices.Equal(lmHead, []int{cfg.Vocab, cfg.Hidden}) {
		errs = append(errs, fmt.Errorf("tensor lm_head.weight has shape %v, want %v", lmHead, []int{cfg.Vocab, cfg.Hidden}))
	}
	if len(errs) > 0 {
		if len(errs) > 8 {
			errs = append(errs[:8], fmt.Errorf("… and %d more problems", len(errs)-8))
		}
		return nil, fmt.Errorf("checkpoint: %s does not match %s: %w", src.file, ConfigFile, errors.Join(errs...))
	}
	for _, p := range params {
		data, err := src.read(p.Name)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: tensor %s: %w", src.file, p.Name, err)
		}
		if len(data) != p.Size() {
			return nil, fmt.Errorf("checkpoint: %s: tensor %s has %d values, want %d", src.file, p.Name, len(data), p.Size())
		}
		*p.Ptr = &model.Host{Data: data}
	}
	if lmHead != nil {
		// A tied model's lm_head is a copy of the embedding; one that differs
		// would be silently dropped, so say so instead.
		head, err := src.read("lm_head.weight")
		if err != nil {
			return nil, fmt.Errorf("checkpoint: %s: tensor lm_head.weight: %w", src.file, err)
		}
		emb := w.Embed.(*model.Host).Data
		for i := range head {
			if head[i] != emb[i] {
				return nil, fmt.Errorf("checkpoint: %s: tensor lm_head.weight differs from model.embed_tokens.weight (index %d) "+
					"but %s ties them; set \"tie_word_embeddings\": false for an untied model", src.file, i, ConfigFile)
			}
		}
	}
	if err := cfg.CheckFinite(w); err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", src.file, err)
	}
	return w, nil
}

// InferConfig guesses the architecture of a MiniMind state dict from its
// tensor shapes, as a .pth file carries no config: vocab and hidden size from
// the embedding, layers from the highest layer index, head_dim from q_norm
// (MiniMind3) or MiniMind's 8 attention heads, kv heads from k_proj, and the
// MoE layout from the expert tensors.
func InferConfig(shapes map[string][]int) (model.Config, error) {
	emb, ok := shapes["model.embed_tokens.weight"]
	if !ok || len(emb) != 2 {
		return model.Config{}, errors.New("cannot infer the architecture: model.embed_tokens.weight is missing or not 2-D")
	}
	get := func(name string, dims int) ([]int, error) {
		s, ok := shapes[name]
		if !ok || len(s) != dims {
			return nil, fmt.Errorf("cannot infer the architecture: %s is missing or not %d-D", name, dims)
		}
		return s, nil
	}
	layers := 0
	for n := range shapes {
		var i int
		if _, err := fmt.Sscanf(n, "model.layers.%d.", &i); err == nil && i+1 > layers {
			layers = i + 1
		}
	}
	if layers == 0 {
		return model.Config{}, errors.New("cannot infer the architecture: no model.layers.* tensors")
	}
	p := "model.layers.0."
	q, err := get(p+"self_attn.q_proj.weight", 2)
	if err != nil {
		return model.Config{}, err
	}
	k, err := get(p+"self_attn.k_proj.weight", 2)
	if err != nil {
		return model.Config{}, err
	}
	var c model.Config
	if qn, ok := shapes[p+"self_attn.q_norm.weight"]; ok && len(qn) == 1 && qn[0] > 0 {
		c, _ = model.Preset("minimind3")
		c.HeadDim = qn[0]
		c.Heads = q[0] / c.HeadDim
	} else {
		c, _ = model.Preset("minimind2-small")
		c.Heads = 8
		c.HeadDim = q[0] / c.Heads
	}
	c.Vocab, c.Hidden, c.Layers = emb[0], emb[1], layers
	if c.HeadDim > 0 {
		c.KVHeads = k[0] / c.HeadDim
	}
	c.TieEmbedding = true // MiniMind always ties; a stored lm_head copy is ignored
	if g, ok := shapes[p+"mlp.gate.weight"]; ok && len(g) == 2 {
		c.UseMoE = true
		c.Experts = g[0]
		ex, err := get(p+"mlp.experts.0.gate_proj.weight", 2)
		if err != nil {
			return model.Config{}, err
		}
		c.FFN = ex[0]
		c.Shared = 0
		for shapes[fmt.Sprintf("%smlp.shared_experts.%d.gate_proj.weight", p, c.Shared)] != nil {
			c.Shared++
		}
		if c.Family == model.MiniMind2 {
			c.TopK = 2
		} else {
			c.TopK = 1
		}
	} else {
		g, err := get(p+"mlp.gate_proj.weight", 2)
		if err != nil {
			return model.Config{}, err
		}
		c.FFN = g[0]
	}
	if err := c.Validate(); err != nil {
		return model.Config{}, err
	}
	return c, nil
}

// SaveOptions controls Save.
type SaveOptions struct {
	// DType is the stored element type: "F32" (default) or "F16".
	DType string
	// Metadata is written into the safetensors header.
	Metadata map[string]string
}

// Save writes config.json and model.safetensors into dir (created if
// needed). Each file is written to a temporary name and renamed, so a
// failed save leaves an earlier checkpoint intact. A tied lm_head is not
// written (Hugging Face ties it back on load).
func Save(dir string, cfg model.Config, w *model.Weights, opt SaveOptions) error {
	dt := safetensors.DType(opt.DType)
	if dt == "" {
		dt = safetensors.F32
	}
	if dt != safetensors.F32 && dt != safetensors.F16 {
		return fmt.Errorf("checkpoint: cannot save as %q (F32 or F16)", opt.DType)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var ts []safetensors.Tensor
	for _, p := range cfg.Params(w) {
		h, ok := (*p.Ptr).(*model.Host)
		if !ok || h == nil || len(h.Data) != p.Size() {
			return fmt.Errorf("checkpoint: tensor %s is missing, not on the host or has the wrong size", p.Name)
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: dt, Shape: p.Shape, Data: h.Data})
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range opt.Metadata {
		meta[k] = v
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, ts, meta); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", SafetensorsFile, err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, SafetensorsFile), buf.Bytes()); err != nil {
		return err
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, ConfigFile), append(cj, '\n'))
}

// WriteFileAtomic writes data to a temporary file in the same folder, syncs
// it and renames it over path, so readers see the old or the new file, never
// a partial one.
func WriteFileAtomic(path string, data []byte) error {
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic streams write's output into a temporary file beside path
// (creating the folder), syncs it and renames it over path. On any error
// the temporary file is removed and an existing file at path is untouched.
func WriteAtomic(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp := f.Name()
	err = f.Chmod(0o644) // CreateTemp makes the file private; checkpoints are ordinary files
	if err == nil {
		err = write(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint: writing %s: %w", path, err)
	}
	return nil
}
