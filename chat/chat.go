// Package chat turns a MiniMind model and its tokenizer into a chat bot: it
// renders conversations with the model's chat template, generates with
// streaming text output, and splits reasoning (<think>…</think>) from the
// answer. mmchat, mmserve and the browser runtime use it.
package chat

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/tokenizer"
)

// Bot is a model with its tokenizer.
type Bot struct {
	Model *model.Model
	Tok   *tokenizer.Tokenizer
	// Stop lists the token ids that end a reply (eos and <|endoftext|>).
	Stop []int32
}

// New builds a bot from a loaded model and tokenizer.
func New(m *model.Model, tok *tokenizer.Tokenizer) (*Bot, error) {
	if tok.VocabSize() > m.Config.Vocab {
		return nil, fmt.Errorf("chat: the tokenizer has %d tokens but the model only %d", tok.VocabSize(), m.Config.Vocab)
	}
	b := &Bot{Model: m, Tok: tok}
	seen := map[int32]bool{}
	for _, name := range []string{"eos", "pad"} {
		if id, ok := tok.SpecialID(name); ok && !seen[id] {
			b.Stop, seen[id] = append(b.Stop, id), true
		}
	}
	for _, s := range []string{"<|im_end|>", "<|endoftext|>"} {
		if id, ok := tok.TokenToID(s); ok && !seen[id] {
			b.Stop, seen[id] = append(b.Stop, id), true
		}
	}
	if len(b.Stop) == 0 {
		b.Stop = []int32{m.Config.EOS}
	}
	return b, nil
}

// Load reads a model folder (config.json, model.safetensors or a .pth,
// tokenizer.json, tokenizer_config.json), or a GGUF file with its tokenizer
// in the metadata, and puts the model on engine e.
func Load(dir string, e model.Engine) (*Bot, error) {
	if checkpoint.IsGGUF(dir) {
		// Straight from the file (checkpoint.Load), not through the
		// in-memory folder of checkpoint.GGUFFolder: the weights are held
		// once while loading instead of three times.
		cfg, w, err := checkpoint.Load(dir)
		if err != nil {
			return nil, err
		}
		tf, err := checkpoint.GGUFTokenizer(dir)
		if err != nil {
			return nil, err
		}
		tok, err := tokenizer.LoadFS(tf, ".")
		if err != nil {
			return nil, fmt.Errorf("chat: %s: %w", dir, err)
		}
		m, err := model.New(cfg, e, w)
		if err != nil {
			return nil, err
		}
		return New(m, tok)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	if !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	return LoadFS(os.DirFS(dir), e)
}

// LoadFS is Load over a file system whose root is the model folder.
func LoadFS(fsys fs.FS, e model.Engine) (*Bot, error) {
	cfg, w, err := checkpoint.LoadFS(fsys, "")
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.LoadFS(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("chat: the model folder has no usable tokenizer: %w", err)
	}
	m, err := model.New(cfg, e, w)
	if err != nil {
		return nil, err
	}
	return New(m, tok)
}

// Options control one reply.
type Options struct {
	MaxTokens int // new tokens at most (default 512)
	Sample    model.SampleOptions
	Seed      uint64
	// Thinking asks a MiniMind-3 model to reason first (open_thinking).
	Thinking bool
}

// Reply is a finished answer.
type Reply struct {
	Text         string // the answer, without the reasoning
	Reasoning    string // the text inside <think>…</think>, if any
	Tokens       []int32
	PromptTokens int
	// Prefill is the time to the first new token; Decode the time after it.
	Prefill, Decode time.Duration
	Stopped         bool // ended by a stop token (not by MaxTokens or cancellation)
}

// TokensPerSecond is the decode speed of the reply.
func (r Reply) TokensPerSecond() float64 {
	if r.Decode <= 0 || len(r.Tokens) < 2 {
		return 0
	}
	return float64(len(r.Tokens)-1) / r.Decode.Seconds()
}

// Prompt renders msgs with the chat template and the generation prompt and
// returns the token ids.
func (b *Bot) Prompt(msgs []tokenizer.Message, thinking bool) ([]int32, error) {
	// MiniMind2's template writes an empty think block when enable_thinking
	// is false, so the variables are only set to ask for reasoning.
	var vars map[string]any
	if thinking {
		vars = map[string]any{"enable_thinking": true, "open_thinking": true}
	}
	text, err := b.Tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true, Vars: vars})
	if err != nil {
		return nil, err
	}
	return b.Tok.Encode(text), nil
}

// Generate answers the conversation msgs (the last message is normally the
// user's). onText, when set, receives the reply text as it is produced;
// returning an error stops generation with it (model.ErrStopped stops
// quietly).
func (b *Bot) Generate(ctx context.Context, msgs []tokenizer.Message, opt Options, onText func(string) error) (Reply, error) {
	ids, err := b.Prompt(msgs, opt.Thinking)
	if err != nil {
		return Reply{}, err
	}
	if opt.MaxTokens <= 0 {
		opt.MaxTokens = 512
	}
	dec := b.Tok.NewStreamDecoderSkipSpecial()
	var sb strings.Builder
	start := time.Now()
	var first time.Time
	r := Reply{PromptTokens: len(ids)}
	toks, err := b.Model.Generate(ctx, ids, model.GenerateOptions{MaxTokens: opt.MaxTokens, Sample: opt.Sample,
		Seed: opt.Seed, StopTokens: b.Stop, OnToken: func(id int32) error {
			if first.IsZero() {
				first = time.Now()
			}
			s := dec.Push(id)
			sb.WriteString(s)
			if onText != nil && s != "" {
				return onText(s)
			}
			return nil
		}})
	if tail := dec.Flush(); tail != "" {
		sb.WriteString(tail)
		if onText != nil {
			onText(tail)
		}
	}
	end := time.Now()
	if first.IsZero() {
		first = end
	}
	r.Tokens, r.Prefill, r.Decode = toks, first.Sub(start), end.Sub(first)
	r.Stopped = err == nil && len(toks) < opt.MaxTokens
	r.Reasoning, r.Text = SplitThink(sb.String())
	if err != nil && !errors.Is(err, model.ErrStopped) {
		return r, err
	}
	return r, nil
}

// SplitThink separates "<think>reasoning</think>answer" into its parts. A
// reply without a think block is all answer; an unclosed block is all
// reasoning.
func SplitThink(s string) (reasoning, answer string) {
	t := strings.TrimLeft(s, " \n")
	if !strings.HasPrefix(t, "<think>") {
		if i := strings.Index(s, "</think>"); i >= 0 { // the template opened the block
			return strings.TrimSpace(s[:i]), strings.TrimLeft(s[i+len("</think>"):], "\n")
		}
		return "", s
	}
	t = t[len("<think>"):]
	i := strings.Index(t, "</think>")
	if i < 0 {
		return strings.TrimSpace(t), ""
	}
	return strings.TrimSpace(t[:i]), strings.TrimLeft(t[i+len("</think>"):], "\n")
}

// ApplyLoRA applies the adapters at path (a LoRA run's folder, a
// .safetensors or .pth file with MiniMind's names, or a PEFT folder) to the
// bot's model without merging them; it returns how many layers they adapt.
func (b *Bot) ApplyLoRA(path string) (int, error) {
	a, err := checkpoint.LoadAdapters(path)
	if err != nil {
		return 0, err
	}
	l, err := model.LoadLoRA(b.Model, a.Tensors, a.Shapes, model.LoRAOptions{Alpha: a.Alpha})
	if err != nil {
		return 0, fmt.Errorf("chat: %s: %w", path, err)
	}
	return len(l.Adapters), nil
}
