// Package convert writes a MiniMind model in the formats other tools run:
// GGUF for llama.cpp and ollama (with an ollama Modelfile), a Hugging Face
// transformers folder (LlamaForCausalLM, Qwen3ForCausalLM or
// Qwen3MoeForCausalLM, loadable by transformers and vLLM without
// trust_remote_code) and MiniMind's own fp16 .pth state dict. cmd/mmconvert
// is its command line.
package convert

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/model/pth"
	"github.com/minimind-go/minimind/model/safetensors"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// Source is a model with its tokenizer, ready to convert.
type Source struct {
	Config  model.Config
	Weights *model.Weights // host weights
	Tok     *tokenizer.Tokenizer
	// From describes where it was read from.
	From string
}

// Load reads the model a command names, as mmchat resolves it: a model
// folder (safetensors or .pth with config.json and tokenizer files), a .pth
// file inside such a folder, a .gguf file, or — for an empty path — the
// newest model under ./out, else the embedded MiniMind-Zero model.
func Load(path string) (*Source, error) {
	dir, fsys, from, err := zoo.Resolve(path)
	if err != nil {
		return nil, err
	}
	src := &Source{From: from}
	if fsys != nil {
		if src.Config, src.Weights, err = checkpoint.LoadFS(fsys, ""); err != nil {
			return nil, err
		}
		if src.Tok, err = tokenizer.LoadFS(fsys, "."); err != nil {
			return nil, fmt.Errorf("convert: %s has no usable tokenizer: %w", from, err)
		}
		return src, nil
	}
	if src.Config, src.Weights, err = checkpoint.Load(dir); err != nil {
		return nil, err
	}
	tokDir := dir
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		tokDir = filepath.Dir(dir)
	}
	if src.Tok, err = tokenizer.Load(tokDir); err != nil {
		return nil, fmt.Errorf("convert: %s has no usable tokenizer (tokenizer.json beside the weights): %w", from, err)
	}
	return src, nil
}

// GGUFOptions control WriteGGUF.
type GGUFOptions struct {
	Type gguf.TensorType // f32, f16, q8_0 or q4_0
	Name string          // general.name
	// Modelfile, when true, also writes an ollama Modelfile beside the file.
	Modelfile bool
}

// WriteGGUF writes src as a GGUF file at out (atomically) and, when asked,
// the ollama Modelfile beside it (out's folder, named Modelfile). It
// returns the Modelfile's path ("" when none was written).
func WriteGGUF(src *Source, out string, opt GGUFOptions) (string, error) {
	if err := checkpoint.WriteAtomic(out, func(w io.Writer) error {
		return gguf.Export(w, src.Config, src.Weights, src.Tok, gguf.ExportOptions{Type: opt.Type, Name: opt.Name})
	}); err != nil {
		return "", err
	}
	if !opt.Modelfile {
		return "", nil
	}
	mf, err := Modelfile(src, "./"+filepath.Base(out))
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(out), "Modelfile")
	return path, checkpoint.WriteFileAtomic(path, []byte(mf))
}

// WritePTH writes src as MiniMind's native checkpoint: torch.save of the
// fp16 state dict with MiniMind's parameter names (lm_head.weight sharing
// the embedding's storage when tied), which MiniMind's Python scripts load
// with load_state_dict.
func WritePTH(src *Source, out string) error {
	var ts []pth.WriteTensor
	for _, p := range src.Config.Params(src.Weights) {
		h, ok := (*p.Ptr).(*model.Host)
		if !ok || h == nil {
			return fmt.Errorf("convert: tensor %s is not on the host", p.Name)
		}
		ts = append(ts, pth.WriteTensor{Name: p.Name, Shape: p.Shape, Data: h.Data})
	}
	if src.Config.TieEmbedding {
		ts = append(ts, pth.WriteTensor{Name: "lm_head.weight", Shape: []int{src.Config.Vocab, src.Config.Hidden}, SameAs: "model.embed_tokens.weight"})
	}
	var buf bytes.Buffer
	if err := pth.Write(&buf, ts, safetensors.F16); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	return checkpoint.WriteFileAtomic(out, buf.Bytes())
}
