package session_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/wasm/session"
)

// Example loads a model from files held in memory, as the browser runtime
// does after downloading them, and answers greedily.
func Example() {
	// A random tiny model with MiniMind's tokenizer (in the browser these
	// bytes come from a download, Cache Storage or a picked folder).
	dir, _ := os.MkdirTemp("", "mm")
	defer os.RemoveAll(dir)
	cfg, _ := model.Preset("tiny")
	checkpoint.Save(dir, cfg, model.InitWeights(cfg, 1), checkpoint.SaveOptions{})
	files := session.Files{}
	for _, p := range []string{
		filepath.Join(dir, "config.json"), filepath.Join(dir, "model.safetensors"),
		filepath.Join("..", "..", "testdata", "minimind", "minimind2", "tokenizer.json"),
		filepath.Join("..", "..", "testdata", "minimind", "minimind2", "tokenizer_config.json"),
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Println("missing fixture:", err)
			return
		}
		files[filepath.Base(p)] = data
	}

	est, _ := session.EstimateModel(files["config.json"], "model.safetensors", int64(len(files["model.safetensors"])))
	fmt.Println("fits in 1 GB:", est.Check(1<<30, "1 GB") == nil)

	s, err := session.Load(context.Background(), "tiny", files, cpu.New(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Generate(context.Background(), session.Request{Prompt: "Hello!", MaxTokens: 5}, nil)
	fmt.Println(s.Info().Family, s.Info().Engine, len(res.Tokens) <= 5, err)
	// Output:
	// fits in 1 GB: true
	// minimind2 cpu true <nil>
}

// ExampleSession_Walk traces a prompt for the tutorial: the detailed trace
// of the prompt, the greedy next token, and its decode step over the KV cache.
func ExampleSession_Walk() {
	dir, _ := os.MkdirTemp("", "mm")
	defer os.RemoveAll(dir)
	cfg, _ := model.Preset("tiny")
	checkpoint.Save(dir, cfg, model.InitWeights(cfg, 1), checkpoint.SaveOptions{})
	files := session.Files{}
	for _, p := range []string{
		filepath.Join(dir, "config.json"), filepath.Join(dir, "model.safetensors"),
		filepath.Join("..", "..", "testdata", "minimind", "minimind2", "tokenizer.json"),
		filepath.Join("..", "..", "testdata", "minimind", "minimind2", "tokenizer_config.json"),
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Println("missing fixture:", err)
			return
		}
		files[filepath.Base(p)] = data
	}
	s, err := session.Load(context.Background(), "tiny", files, cpu.New(1))
	if err != nil {
		panic(err)
	}
	w, err := s.Walk(s.Tokenize("Hello world").IDs)
	if err != nil {
		panic(err)
	}
	st, _ := w.Step("next.layers.0.k_cache")
	fmt.Println(w.Pieces, w.Decoded, st.Shape)
	// Output:
	// [H el lo  world] true [5 2 16]
}
