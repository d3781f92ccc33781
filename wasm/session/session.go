// Package session runs one MiniMind model from files held in memory: the
// files a browser downloaded, took from Cache Storage, or that the user picked
// or dropped. It checks the model's memory needs before the weights are read,
// loads the checkpoint and tokenizer with errors a user can act on, and
// answers the requests of the browser runtime (package main in wasm/):
// chat generation with streaming text, tokenization and forward traces.
//
// It is plain Go (no syscall/js), so it is tested natively; the wasm entry
// only converts values between JavaScript and these types.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
)

// Names of the files of a MiniMind model folder.
const (
	ConfigFile          = checkpoint.ConfigFile
	SafetensorsFile     = checkpoint.SafetensorsFile
	TokenizerFile       = tokenizer.TokenizerFile
	TokenizerConfigFile = "tokenizer_config.json"
	// AdapterFile holds LoRA adapters served beside the model (PEFT's name;
	// MiniMind's or PEFT's tensor names inside), applied without merging.
	AdapterFile = checkpoint.PEFTWeightsFile
	// AdapterConfigFile is PEFT's adapter_config.json (optional): r and
	// lora_alpha set the adapters' scale.
	AdapterConfigFile = checkpoint.PEFTConfigFile
)

// MaxTraceTokens bounds the prompt of Trace, whose attention maps grow with
// the square of its length.
const MaxTraceTokens = 256

var (
	// ErrNotMiniMind is returned when the files are not a MiniMind model.
	ErrNotMiniMind = errors.New("not a MiniMind model")
	// ErrTooBig is returned when a model would not fit in memory.
	ErrTooBig = errors.New("the model does not fit in memory")
)

// Files holds the files of a model folder in memory, by base name.
type Files map[string][]byte

// PickWeights chooses the weights file among the names of a folder:
// model.safetensors, else the only *.safetensors, else the only .pth (a
// full_sft_*.pth is preferred when there are several).
func PickWeights(names []string) (string, error) {
	var st, pth []string
	for _, n := range names {
		switch b := path.Base(n); {
		case b == AdapterFile:
			continue // LoRA adapters, not weights
		case b == SafetensorsFile:
			return b, nil
		case strings.HasSuffix(b, ".safetensors"):
			st = append(st, b)
		case strings.HasSuffix(b, ".pth"):
			pth = append(pth, b)
		}
	}
	sort.Strings(st)
	sort.Strings(pth)
	switch {
	case len(st) == 1:
		return st[0], nil
	case len(st) > 1:
		return "", fmt.Errorf("%w: several .safetensors files (%s); keep one named %s", ErrNotMiniMind, strings.Join(st, ", "), SafetensorsFile)
	case len(pth) == 1:
		return pth[0], nil
	case len(pth) > 1:
		var sft []string
		for _, p := range pth {
			if strings.HasPrefix(p, "full_sft") {
				sft = append(sft, p)
			}
		}
		if len(sft) == 1 {
			return sft[0], nil
		}
		return "", fmt.Errorf("%w: several .pth files (%s); pick one", ErrNotMiniMind, strings.Join(pth, ", "))
	}
	return "", fmt.Errorf("%w: no weights found (a MiniMind folder holds %s or a .pth file, %s, %s and %s)",
		ErrNotMiniMind, SafetensorsFile, ConfigFile, TokenizerFile, TokenizerConfigFile)
}

// Estimate is what a model needs, computed from its config.json and the size
// of its weights file before the weights are read.
type Estimate struct {
	Family      string `json:"family,omitempty"` // minimind2 or minimind3; "" when unknown
	Params      int64  `json:"params"`           // parameters (tied embeddings once)
	FileBytes   int64  `json:"fileBytes"`        // the weights file
	WeightBytes int64  `json:"weightBytes"`      // float32 weights in memory (Params·4)
	// PeakBytes is the memory needed while loading: the file and the float32
	// weights are held together (a .pth file twice), plus the runtime's
	// working memory.
	PeakBytes int64 `json:"peakBytes"`
}

// runtimeOverhead is the working memory of the runtime besides the weights:
// tokenizer, caches, activations and the garbage collector's slack.
const runtimeOverhead = 64 << 20

// EstimateModel computes the memory needs of a model from config.json (nil
// when the folder has none: a .pth file, assumed fp16 as MiniMind saves it)
// and the name and size of its weights file.
func EstimateModel(config []byte, weightsName string, weightsSize int64) (Estimate, error) {
	e := Estimate{FileBytes: weightsSize}
	if config != nil {
		c, err := model.ParseConfig(config)
		if err != nil { // the error names config.json
			return e, fmt.Errorf("%w: %w", ErrNotMiniMind, err)
		}
		if err := c.Validate(); err != nil {
			return e, fmt.Errorf("%w: %s: %w", ErrNotMiniMind, ConfigFile, err)
		}
		e.Family, e.Params = string(c.Family), int64(c.ParamCount())
	} else if strings.HasSuffix(weightsName, ".pth") {
		e.Params = weightsSize / 2
	} else {
		return e, fmt.Errorf("%w: %s is missing next to %s", ErrNotMiniMind, ConfigFile, weightsName)
	}
	e.WeightBytes = 4 * e.Params
	e.PeakBytes = e.FileBytes + e.WeightBytes + runtimeOverhead
	if strings.HasSuffix(weightsName, ".pth") {
		// The pickle reader takes a copy of the whole file.
		e.PeakBytes += e.FileBytes
	}
	return e, nil
}

// Check returns an error wrapping ErrTooBig, with numbers a user can act on,
// when the load peak exceeds limit bytes; where names what sets the limit
// (for example "this browser's WebAssembly memory (3 GB)").
func (e Estimate) Check(limit int64, where string) error {
	if limit <= 0 || e.PeakBytes <= limit {
		return nil
	}
	file := FormatBytes(e.FileBytes) + " of weights file"
	if e.PeakBytes-e.WeightBytes-runtimeOverhead > e.FileBytes {
		file = "2 × " + file // a .pth is copied once while it is read
	}
	return fmt.Errorf("%w: loading this model (%s parameters) needs about %s (%s + %s of float32 weights + %s of working memory), more than %s; choose a smaller model",
		ErrTooBig, FormatCount(e.Params), FormatBytes(e.PeakBytes), file, FormatBytes(e.WeightBytes), FormatBytes(runtimeOverhead), where)
}

// FormatBytes writes n bytes for people: 812 B, 1.5 KB, 26.3 MB, 2.1 GB
// (powers of 1024).
func FormatBytes(n int64) string {
	const k = 1024
	switch {
	case n < k:
		return fmt.Sprintf("%d B", n)
	case n < k*k:
		return fmt.Sprintf("%.1f KB", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.1f MB", float64(n)/(k*k))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(k*k*k))
}

// FormatCount writes a parameter count for people: 6.4K, 25.8M, 1.2B.
func FormatCount(n int64) string {
	switch {
	case n < 1e3:
		return fmt.Sprint(n)
	case n < 1e6:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1fB", float64(n)/1e9)
}

// Info describes a loaded model.
type Info struct {
	Name        string `json:"name"`
	Family      string `json:"family"`
	Params      int    `json:"params"`
	Layers      int    `json:"layers"`
	Hidden      int    `json:"hidden"`
	Heads       int    `json:"heads"`
	KVHeads     int    `json:"kvHeads"`
	HeadDim     int    `json:"headDim"`
	FFN         int    `json:"ffn"`
	Vocab       int    `json:"vocab"`
	MaxPos      int    `json:"maxPositions"`
	MoE         bool   `json:"moe"`
	Experts     int    `json:"experts,omitempty"`
	WeightsFile string `json:"weightsFile"`
	Engine      string `json:"engine"`
	// Thinking reports whether the chat template can open a <think> block
	// for the model to reason in (MiniMind-3's open_thinking).
	Thinking bool `json:"thinking"`
	// Config is the model's config.json as this runtime understands it.
	Config json.RawMessage `json:"config"`
	// LoRA describes the adapters applied (nil: none).
	LoRA *LoRAInfo `json:"lora,omitempty"`
	// LoadMs is the time Load took (parsing and putting weights on the engine).
	LoadMs float64 `json:"loadMs"`
}

// LoRAInfo describes LoRA adapters applied to a model without merging.
type LoRAInfo struct {
	File   string  `json:"file"`
	Layers int     `json:"layers"` // adapted linear layers
	Rank   int     `json:"rank"`
	Alpha  float64 `json:"alpha"` // 0: unscaled (MiniMind's y = W·x + B·A·x)
	Params int     `json:"params"`
}

// Session is a loaded model with its tokenizer. It serves one request at a
// time.
type Session struct {
	bot  *chat.Bot
	info Info
}

// Load builds a session from a model's files on engine e. name describes
// the model for people (a folder or URL). The weights are read from
// model.safetensors or a .pth file (see PickWeights), the architecture from
// config.json (inferred from a .pth when it is absent), and the tokenizer
// from tokenizer.json and tokenizer_config.json. Problems with the files are
// reported wrapping ErrNotMiniMind and name the file.
func Load(ctx context.Context, name string, files Files, e model.Engine) (*Session, error) {
	start := time.Now()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	weights, err := PickWeights(names)
	if err != nil {
		return nil, err
	}
	if files[TokenizerFile] == nil {
		return nil, fmt.Errorf("%w: %s is missing (a MiniMind folder holds %s, %s or a .pth file, %s and %s)",
			ErrNotMiniMind, TokenizerFile, ConfigFile, SafetensorsFile, TokenizerFile, TokenizerConfigFile)
	}
	tok, err := tokenizer.FromJSON(files[TokenizerFile], files[TokenizerConfigFile])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotMiniMind, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fsys := memFS{weights: files[weights]}
	if c := files[ConfigFile]; c != nil {
		fsys[ConfigFile] = c
	}
	cfg, host, err := checkpoint.LoadFS(fsys, weights)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotMiniMind, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var m *model.Model
	if _, ok := e.(*cpu.Engine); ok {
		// The CPU engine's tensors are host tensors: use the loaded weights
		// as they are instead of copying them.
		m, err = model.NewOnEngine(cfg, e, host)
	} else {
		m, err = model.New(cfg, e, host)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNotMiniMind, weights, err)
	}
	if ee, ok := e.(interface{ Err() error }); ok && ee.Err() != nil {
		return nil, fmt.Errorf("putting the weights on the %s engine: %w", e.Name(), ee.Err())
	}
	lora, err := applyAdapters(m, files)
	if err != nil {
		return nil, err
	}
	bot, err := chat.New(m, tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotMiniMind, err)
	}
	cj, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	tmpl := ""
	if tc := tok.Config(); tc != nil {
		tmpl = tc.ChatTemplate
	}
	s := &Session{bot: bot, info: Info{
		Name: name, Family: string(cfg.Family), Params: cfg.ParamCount(),
		Layers: cfg.Layers, Hidden: cfg.Hidden, Heads: cfg.Heads, KVHeads: cfg.KVHeads, HeadDim: cfg.HeadDim,
		FFN: cfg.FFN, Vocab: cfg.Vocab, MaxPos: cfg.MaxPos, MoE: cfg.UseMoE, Experts: cfg.Experts,
		WeightsFile: weights, Engine: e.Name(), Thinking: strings.Contains(tmpl, "open_thinking"),
		Config: cj, LoRA: lora,
	}}
	s.info.LoadMs = ms(time.Since(start))
	return s, nil
}

// applyAdapters attaches the LoRA adapters of files (AdapterFile and
// AdapterConfigFile) to m without merging them; nil when there are none.
func applyAdapters(m *model.Model, files Files) (*LoRAInfo, error) {
	data := files[AdapterFile]
	if data == nil {
		return nil, nil
	}
	a, err := checkpoint.ParseAdapters(AdapterFile, data, files[AdapterConfigFile])
	if err != nil {
		return nil, fmt.Errorf("LoRA adapters: %w", err)
	}
	l, err := model.LoadLoRA(m, a.Tensors, a.Shapes, model.LoRAOptions{Alpha: a.Alpha})
	if err != nil {
		return nil, fmt.Errorf("LoRA adapters %s: %w", AdapterFile, err)
	}
	if ee, ok := m.Engine.(interface{ Err() error }); ok && ee.Err() != nil {
		return nil, fmt.Errorf("putting the LoRA adapters on the %s engine: %w", m.Engine.Name(), ee.Err())
	}
	return &LoRAInfo{File: AdapterFile, Layers: len(l.Adapters), Rank: l.Rank, Alpha: l.Alpha, Params: l.ParamCount()}, nil
}

// Info describes the loaded model.
func (s *Session) Info() Info { return s.info }

// Model returns the loaded model.
func (s *Session) Model() *model.Model { return s.bot.Model }

// Tokenizer returns the model's tokenizer.
func (s *Session) Tokenizer() *tokenizer.Tokenizer { return s.bot.Tok }

// Tokens is a tokenized text: the ids and the text of each id on its own
// (a piece that ends inside a UTF-8 character shows U+FFFD).
type Tokens struct {
	IDs    []int32  `json:"ids"`
	Pieces []string `json:"pieces"`
}

// Tokenize encodes text as it is (special tokens written in the text, such
// as <|im_start|>, become their ids; nothing is added).
func (s *Session) Tokenize(text string) Tokens {
	return s.pieces(s.bot.Tok.Encode(text))
}

func (s *Session) pieces(ids []int32) Tokens {
	t := Tokens{IDs: ids, Pieces: make([]string, len(ids))}
	for i, id := range ids {
		t.Pieces[i] = s.bot.Tok.Decode([]int32{id})
	}
	return t
}

// Request is one generation request. Either Messages (a conversation; the
// last message is normally the user's) or Prompt (one user message) is set.
// Sampling follows model.SampleOptions: Temperature 0 is greedy.
type Request struct {
	Messages          []tokenizer.Message `json:"messages,omitempty"`
	Prompt            string              `json:"prompt,omitempty"`
	MaxTokens         int                 `json:"maxTokens,omitempty"`
	Temperature       float32             `json:"temperature"`
	TopP              float32             `json:"topP,omitempty"`
	TopK              int                 `json:"topK,omitempty"`
	RepetitionPenalty float32             `json:"repetitionPenalty,omitempty"`
	Seed              uint64              `json:"seed,omitempty"`
	// Thinking asks a model whose template supports it to reason first: the
	// generation prompt then ends inside an open <think> block.
	Thinking bool `json:"thinking,omitempty"`
}

// Messages returns the conversation of the request.
func (r Request) messages() ([]tokenizer.Message, error) {
	if len(r.Messages) > 0 {
		return r.Messages, nil
	}
	if r.Prompt == "" {
		return nil, errors.New("session: the request has no messages and no prompt")
	}
	return []tokenizer.Message{{Role: "user", Content: r.Prompt}}, nil
}

// Stats measures one generation.
type Stats struct {
	PromptTokens int     `json:"promptTokens"`
	Tokens       int     `json:"tokens"`
	TTFTMs       float64 `json:"ttftMs"`          // time to the first new token (template, encode, prefill)
	DecodeMs     float64 `json:"decodeMs"`        // time after the first token
	TokensPerSec float64 `json:"tokensPerSecond"` // decode speed: (tokens-1)/decode time
	TotalMs      float64 `json:"totalMs"`
	Engine       string  `json:"engine"`
	// Stop says why generation ended: "eos" (a stop token), "length"
	// (MaxTokens), "abort" (cancelled) or "context" (the model's positions ran out).
	Stop string `json:"stop"`
}

// Result is a finished (or aborted) generation.
type Result struct {
	// Text is the reply as streamed: the decoded new tokens, special tokens
	// left out, a <think> block included.
	Text string `json:"text"`
	// Reasoning and Answer split Text at its think block (see chat.SplitThink).
	Reasoning string  `json:"reasoning"`
	Answer    string  `json:"answer"`
	Tokens    []int32 `json:"tokens"`
	// Prefix is the text the generation prompt put at the start of the
	// assistant's turn (for example "<think>\n" when Thinking opened a block).
	Prefix  string `json:"prefix"`
	Aborted bool   `json:"aborted"`
	Stats   Stats  `json:"stats"`
}

// Generate answers r, calling onText (when set) with each piece of text as
// it is produced; returning an error from onText stops generation with it.
// Cancelling ctx ends generation early: the result so far is returned with
// Aborted set and no error.
func (s *Session) Generate(ctx context.Context, r Request, onText func(string) error) (Result, error) {
	msgs, err := r.messages()
	if err != nil {
		return Result{}, err
	}
	thinking := r.Thinking && s.info.Thinking
	prefix, err := s.generationPrefix(msgs, thinking)
	if err != nil {
		return Result{}, err
	}
	var sb strings.Builder
	start := time.Now()
	opt := chat.Options{MaxTokens: r.MaxTokens, Seed: r.Seed, Thinking: thinking, Sample: model.SampleOptions{
		Temperature: r.Temperature, TopK: r.TopK, TopP: r.TopP, RepetitionPenalty: r.RepetitionPenalty}}
	if opt.MaxTokens <= 0 {
		opt.MaxTokens = 512
	}
	rep, err := s.bot.Generate(ctx, msgs, opt, func(t string) error {
		sb.WriteString(t)
		if onText != nil {
			return onText(t)
		}
		return nil
	})
	total := time.Since(start)
	res := Result{Text: sb.String(), Tokens: rep.Tokens, Prefix: prefix}
	if res.Tokens == nil {
		res.Tokens = []int32{}
	}
	res.Reasoning, res.Answer = chat.SplitThink(prefix + res.Text)
	res.Stats = Stats{PromptTokens: rep.PromptTokens, Tokens: len(rep.Tokens), TTFTMs: ms(rep.Prefill),
		DecodeMs: ms(rep.Decode), TokensPerSec: rep.TokensPerSecond(), TotalMs: ms(total), Engine: s.info.Engine}
	if ee, ok := s.bot.Model.Engine.(interface{ Err() error }); ok && ee.Err() != nil {
		return res, fmt.Errorf("the %s engine failed: %w", s.info.Engine, ee.Err())
	}
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		res.Aborted, res.Stats.Stop = true, "abort"
		return res, nil
	case err != nil:
		return res, err
	case rep.Stopped:
		res.Stats.Stop = "eos"
	case len(rep.Tokens) >= opt.MaxTokens:
		res.Stats.Stop = "length"
	default:
		res.Stats.Stop = "context"
	}
	return res, nil
}

// generationPrefix returns what the chat template writes after the
// assistant's role line for msgs ("" for MiniMind2, an empty or open think
// block for MiniMind-3).
func (s *Session) generationPrefix(msgs []tokenizer.Message, thinking bool) (string, error) {
	var vars map[string]any
	if thinking {
		vars = map[string]any{"enable_thinking": true, "open_thinking": true}
	}
	text, err := s.bot.Tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true, Vars: vars})
	if err != nil {
		return "", fmt.Errorf("session: chat template: %w", err)
	}
	const turn = "<|im_start|>assistant\n"
	if i := strings.LastIndex(text, turn); i >= 0 {
		return text[i+len(turn):], nil
	}
	return "", nil
}

// RenderChat renders msgs with the model's chat template and the generation
// prompt, as Generate feeds them to the model.
func (s *Session) RenderChat(msgs []tokenizer.Message, thinking bool) (string, error) {
	var vars map[string]any
	if thinking && s.info.Thinking {
		vars = map[string]any{"enable_thinking": true, "open_thinking": true}
	}
	return s.bot.Tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true, Vars: vars})
}

// TraceResult is a traced forward pass: the tokens and the named steps of
// model.Trace.
type TraceResult struct {
	Tokens
	Trace *model.Trace
}

// Trace runs one forward pass over ids and records every named step (see
// model.Trace). At most MaxTraceTokens ids are accepted.
func (s *Session) Trace(ids []int32) (TraceResult, error) {
	switch {
	case len(ids) == 0:
		return TraceResult{}, errors.New("session: trace: no tokens")
	case len(ids) > MaxTraceTokens:
		return TraceResult{}, fmt.Errorf("session: trace: %d tokens, at most %d", len(ids), MaxTraceTokens)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= s.info.Vocab {
			return TraceResult{}, fmt.Errorf("session: trace: token id %d is outside the vocabulary (%d)", id, s.info.Vocab)
		}
	}
	tr := &model.Trace{}
	logits, err := s.bot.Model.Forward(ids, 1, model.ForwardOptions{Trace: tr})
	if err != nil {
		return TraceResult{}, err
	}
	s.bot.Model.Engine.Free(logits)
	return TraceResult{Tokens: s.pieces(ids), Trace: tr}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
