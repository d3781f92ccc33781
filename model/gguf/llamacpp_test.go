package gguf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// parityTexts are tokenized by llama.cpp and by our tokenizer.
var parityTexts = []string{
	"Hello, world!",
	"The quick brown fox jumps over the lazy dog.",
	"I'm sure you'll see they've done it; we'd go, she's 'quoted' don't",
	"  leading spaces, trailing spaces   ",
	"tabs\tand\nnew\n\nlines\r\n  indented\n",
	"numbers 3.14159, 1,000,000 and 2026-12-03 12:34:56",
	"你好，世界！我是一个小型语言模型。",
	"床前明月光，疑是地上霜。举头望明月，低头思故乡。",
	"mixed 中文 and English 混合 text 123",
	"emoji 😀🎉👍🏽 and symbols ©®™ → ∞ ≠ √",
	"Ünïcödé àccents: café, naïve, Straße, Ελληνικά, русский, العربية",
	"code: func main() { fmt.Println(\"hi\") } // x += y[i] * 2;",
	"<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n",
	"<|endoftext|>text after special<|im_end|>",
	"<think>\nreasoning\n</think>\n\nanswer",
	"!!!???...---___***",
	"a",
	" ",
	"https://example.org/path?q=1&r=2#frag",
	"UPPER lower MiXeD CamelCaseWords snake_case_words",
}

var parityChats = [][]tokenizer.Message{
	{{Role: "user", Content: "Who are you?"}},
	{{Role: "system", Content: "You are MiniMind."}, {Role: "user", Content: "你好"}},
	{{Role: "user", Content: "What is a house?"}, {Role: "assistant", Content: "A house is a building."}, {Role: "user", Content: "And a river?"}},
}

// parityPrompts are continued greedily for 64 tokens.
var parityPrompts = []string{"The meaning of the word", "你好，我是", "<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"}

const paritySteps = 64

type parityModel struct {
	Name          string    `json:"name"`
	Tokens        [][]int32 `json:"tokens"`
	Continuations [][]int32 `json:"continuations"`
	Chats         [][]int32 `json:"chats"`
	// ChatsThinking are the chats rendered with open_thinking (ours only).
	ChatsThinking [][]int32 `json:"-"`
}

type parityRequest struct {
	Models []parityFile        `json:"models"`
	Texts  []string            `json:"texts"`
	Steps  int                 `json:"steps"`
	Chats  [][]parityChatEntry `json:"chats"`
}

// parityFile is one GGUF file and the prompts (token ids) to continue.
type parityFile struct {
	Name    string    `json:"name"`
	Path    string    `json:"path"`
	Prompts [][]int32 `json:"prompts"`
}

type parityChatEntry struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// parityCase is one model exported to GGUF.
type parityCase struct {
	name string
	cfg  model.Config
	w    *model.Weights
	tok  *tokenizer.Tokenizer
}

func parityCases(t *testing.T) []parityCase {
	t.Helper()
	var cases []parityCase
	for _, x := range []struct{ name, preset, tok string }{
		{"minimind2-tiny", "tiny", "minimind2"},
		{"minimind3-tiny", "tiny3", "minimind3"},
	} {
		c, err := model.Preset(x.preset)
		require.NoError(t, err)
		// Random weights with a larger spread than training's initialisation,
		// so the greedy continuations are varied and not decided by near-ties.
		w := model.InitWeights(c, 11)
		for _, p := range c.Params(w) {
			if len(p.Shape) == 2 {
				for i, v := range (*p.Ptr).(*model.Host).Data {
					(*p.Ptr).(*model.Host).Data[i] = v * 4
				}
			}
		}
		tok, err := tokenizer.Load("../../testdata/minimind/" + x.tok)
		require.NoError(t, err)
		cases = append(cases, parityCase{x.name, c, w, tok})
	}
	fsys, err := zoo.Default()
	require.NoError(t, err)
	c, w, err := checkpoint.LoadFS(fsys, "")
	require.NoError(t, err)
	tok, err := tokenizer.LoadFS(fsys, ".")
	require.NoError(t, err)
	return append(cases, parityCase{"zero", c, w, tok})
}

// TestLlamaCppParity exports MiniMind2 and minimind3 models with random
// weights and the embedded Zero model to f32 and f16 GGUF files, loads them
// back through the GGUF reader, and checks that llama.cpp (node-llama-cpp
// 3.21.1, tools/llamacpp) and this project agree on the tokenization of
// varied text, the greedy 64-token continuation of prompts, and the prompt
// tokens of conversations rendered with the chat template from the metadata.
// llama.cpp's answers come from running it when tools/llamacpp is installed
// (required with MINIMIND_REQUIRE_LLAMACPP=1), else from the committed
// testdata/llamacpp.json, which MINIMIND_LLAMACPP_UPDATE=1 rewrites.
func TestLlamaCppParity(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := t.TempDir()
	var req parityRequest
	req.Texts, req.Steps = parityTexts, paritySteps
	for _, conv := range parityChats {
		var entries []parityChatEntry
		for _, m := range conv {
			entries = append(entries, parityChatEntry{m.Role, m.Content})
		}
		req.Chats = append(req.Chats, entries)
	}
	ours := map[string]parityModel{}
	var order []string
	for _, pc := range parityCases(t) {
		for _, typ := range []gguf.TensorType{gguf.F32, gguf.F16} {
			name := pc.name + "-" + typ.String()
			path := filepath.Join(dir, name+".gguf")
			var buf bytes.Buffer
			require.NoError(t, gguf.Export(&buf, pc.cfg, pc.w, pc.tok, gguf.ExportOptions{Type: typ}))
			require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			var prompts [][]int32
			for _, p := range parityPrompts {
				prompts = append(prompts, pc.tok.Encode(p))
			}
			req.Models = append(req.Models, parityFile{name, path, prompts})
			order = append(order, name)
			ours[name] = runOurs(t, path, req.Texts, prompts)
		}
	}
	golden := filepath.Join("testdata", "llamacpp.json")
	theirs := runLlamaCpp(t, dir, &req, golden)
	require.Len(t, theirs, len(order))
	for i, name := range order {
		t.Run(name, func(t *testing.T) {
			o, l := ours[name], theirs[i]
			require.Equal(t, name, l.Name)
			for j, text := range parityTexts {
				assert.Equal(t, l.Tokens[j], o.Tokens[j], "tokens of %q", text)
			}
			for j := range parityPrompts {
				assert.Equal(t, l.Continuations[j], o.Continuations[j], "greedy continuation of prompt %d", j)
			}
			// node-llama-cpp's Jinja chat wrapper renders the assistant turn
			// itself and, for a template with <think> segments (minimind3),
			// opens the thought: that is the prompt `mmchat --think` renders.
			want := o.Chats
			if strings.HasPrefix(name, "minimind3") {
				want = o.ChatsThinking
			}
			for j := range parityChats {
				assert.Equal(t, l.Chats[j], want[j], "chat %d", j)
			}
		})
	}
}

// runOurs loads a GGUF file as every command does and computes the answers.
func runOurs(t *testing.T, path string, texts []string, prompts [][]int32) parityModel {
	t.Helper()
	g, err := gguf.Open(path)
	require.NoError(t, err)
	defer g.Close()
	fsys, err := g.Folder()
	require.NoError(t, err)
	cfg, w, err := checkpoint.LoadFS(fsys, "")
	require.NoError(t, err)
	tok, err := tokenizer.LoadFS(fsys, ".")
	require.NoError(t, err)
	m, err := model.New(cfg, cpu.New(1), w)
	require.NoError(t, err)
	res := parityModel{Name: strings.TrimSuffix(filepath.Base(path), ".gguf")}
	for _, s := range texts {
		res.Tokens = append(res.Tokens, orEmpty(tok.Encode(s)))
	}
	// llama.cpp stops at its end-of-generation tokens: eos and the ChatML/GPT ends.
	stops := []int32{cfg.EOS}
	for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
		if id, ok := tok.TokenToID(s); ok {
			stops = append(stops, id)
		}
	}
	for _, p := range prompts {
		out, err := m.Generate(context.Background(), p, model.GenerateOptions{MaxTokens: paritySteps, StopTokens: stops})
		require.NoError(t, err)
		res.Continuations = append(res.Continuations, out)
	}
	for _, conv := range parityChats {
		text, err := tok.ApplyChatTemplate(conv, tokenizer.ChatOptions{AddGenerationPrompt: true})
		require.NoError(t, err)
		res.Chats = append(res.Chats, tok.Encode(text))
		text, err = tok.ApplyChatTemplate(conv, tokenizer.ChatOptions{AddGenerationPrompt: true,
			Vars: map[string]any{"enable_thinking": true, "open_thinking": true}})
		require.NoError(t, err)
		res.ChatsThinking = append(res.ChatsThinking, tok.Encode(text))
	}
	return res
}

func orEmpty(x []int32) []int32 {
	if x == nil {
		return []int32{}
	}
	return x
}

// runLlamaCpp returns llama.cpp's answers: live when tools/llamacpp is
// installed, else from the golden file.
func runLlamaCpp(t *testing.T, dir string, req *parityRequest, golden string) []parityModel {
	t.Helper()
	script, _ := filepath.Abs(filepath.Join("..", "..", "tools", "llamacpp", "parity.mjs"))
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "node-llama-cpp"))
	live := nodeErr == nil && modErr == nil
	if !live {
		if os.Getenv("MINIMIND_REQUIRE_LLAMACPP") != "" {
			t.Fatalf("MINIMIND_REQUIRE_LLAMACPP is set but llama.cpp is not installed (cd tools/llamacpp && npm ci): node %v, module %v", nodeErr, modErr)
		}
		t.Logf("llama.cpp not installed (cd tools/llamacpp && npm ci): comparing with %s", golden)
		data, err := os.ReadFile(golden)
		require.NoError(t, err)
		var g struct {
			Models []parityModel `json:"models"`
		}
		require.NoError(t, json.Unmarshal(data, &g))
		return g.Models
	}
	rq, err := json.Marshal(req)
	require.NoError(t, err)
	rqPath := filepath.Join(dir, "request.json")
	require.NoError(t, os.WriteFile(rqPath, rq, 0o644))
	cmd := exec.Command("node", script, rqPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node parity.mjs: %s", stderr.String())
	var res struct {
		LlamaCpp string        `json:"llama_cpp"`
		Models   []parityModel `json:"models"`
	}
	require.NoError(t, json.Unmarshal(out, &res))
	t.Logf("llama.cpp from %s (live)", res.LlamaCpp)
	if os.Getenv("MINIMIND_LLAMACPP_UPDATE") != "" {
		var b bytes.Buffer
		fmt.Fprintf(&b, "{\"llama_cpp\": %q,\n\"models\": [\n", res.LlamaCpp)
		for i, m := range res.Models {
			line, _ := json.Marshal(m)
			b.Write(line)
			if i+1 < len(res.Models) {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("]}\n")
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	return res.Models
}
