package native

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
)

// Mode selects how a jsonl line becomes a training sample.
type Mode string

const (
	// Pretrain reads {"text": ...} lines: every token carries a label.
	Pretrain Mode = "pretrain"
	// SFT reads {"conversations": [...]} lines: only assistant replies carry labels.
	SFT Mode = "sft"
	// DPO reads {"chosen": [...], "rejected": [...]} lines: two
	// conversations, each rendered and labelled as in SFT. A sample holds
	// the chosen side padded to MaxSeqLen, then the rejected side.
	DPOData Mode = "dpo"
)

// maxDocLen is the longest sample of mode m for rows of maxSeqLen tokens.
func maxDocLen(m Mode, maxSeqLen int) int {
	if m == DPOData {
		return 2 * maxSeqLen
	}
	return maxSeqLen
}

// Tokenizer is what the data pipeline needs from a tokenizer. Its methods
// must be safe for concurrent use: lines are tokenized on all cores.
type Tokenizer interface {
	// Encode returns the ids of text, splitting out special tokens such as
	// <|im_start|> but adding none.
	Encode(text string) []int32
	// RenderChat renders messages, a JSON array of message objects passed
	// on with their keys in written order, and tools (JSON values; nil when
	// there are none) with the chat template, without a generation prompt.
	RenderChat(messages json.RawMessage, tools []json.RawMessage) (string, error)
}

// DataConfig describes how samples are made.
type DataConfig struct {
	Mode      Mode
	MaxSeqLen int   // tokens per row (T)
	Vocab     int   // ids must be below Vocab
	BOS, EOS  int32 // added around pretraining text
	PAD       int32 // fills rows
	// SystemPrompts prepends a random system prompt to 20% of SFT samples
	// that have none (MiniMind does this); the choice depends only on Seed
	// and the sample's line number.
	SystemPrompts bool
	Seed          uint64
}

// Validate checks the configuration.
func (dc DataConfig) Validate() error {
	if dc.Mode != Pretrain && dc.Mode != SFT && dc.Mode != DPOData {
		return fmt.Errorf("native: unknown data mode %q (pretrain, sft or dpo)", dc.Mode)
	}
	if dc.MaxSeqLen < 3 {
		return fmt.Errorf("native: max_seq_len must be at least 3, got %d", dc.MaxSeqLen)
	}
	if dc.Vocab <= 0 {
		return fmt.Errorf("native: vocabulary size must be > 0, got %d", dc.Vocab)
	}
	for _, id := range []int32{dc.BOS, dc.EOS, dc.PAD} {
		if id < 0 || int(id) >= dc.Vocab {
			return fmt.Errorf("native: special id %d is outside the vocabulary [0, %d)", id, dc.Vocab)
		}
	}
	return nil
}

// Doc is one tokenized sample, at most MaxSeqLen tokens, without padding.
type Doc struct {
	Tokens []int32
	// Mask marks the tokens that carry a label (SFT); nil means all do.
	Mask []bool
}

// Labelled reports whether token i carries a label.
func (d Doc) Labelled(i int) bool { return d.Mask == nil || d.Mask[i] }

// errMalformed marks a line whose content is not a valid sample (as
// opposed to a failure of the pipeline itself).
var errMalformed = errors.New("malformed line")

// Processor turns jsonl lines into Docs.
type Processor struct {
	cfg        DataConfig
	tok        Tokenizer
	start, end []int32 // SFT: "<|im_start|>assistant\n" and "<|im_end|>\n"
}

// NewProcessor checks cfg and prepares the SFT label markers.
func NewProcessor(cfg DataConfig, tok Tokenizer) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, errors.New("native: no tokenizer")
	}
	p := &Processor{cfg: cfg, tok: tok}
	if cfg.Mode != Pretrain {
		p.start = tok.Encode("<|im_start|>assistant\n")
		p.end = tok.Encode("<|im_end|>\n")
		if len(p.start) == 0 || len(p.end) == 0 {
			return nil, errors.New("native: the tokenizer encodes the assistant markers to nothing")
		}
	}
	return p, nil
}

// Config returns the processor's data configuration.
func (p *Processor) Config() DataConfig { return p.cfg }

// Process makes the sample of one jsonl line; line is its 1-based number
// (it seeds the random system prompt). A malformed line gives an error
// wrapping errMalformed.
func (p *Processor) Process(data []byte, line int) (Doc, error) {
	var d Doc
	var err error
	switch p.cfg.Mode {
	case Pretrain:
		d, err = p.pretrain(data)
	case DPOData:
		d, err = p.dpo(data, line)
	default:
		d, err = p.sft(data, line)
	}
	if err != nil {
		return Doc{}, err
	}
	for i, id := range d.Tokens {
		if id < 0 || int(id) >= p.cfg.Vocab {
			return Doc{}, fmt.Errorf("token %d is id %d, outside the model's vocabulary [0, %d)", i, id, p.cfg.Vocab)
		}
	}
	return d, nil
}

func (p *Processor) pretrain(data []byte) (Doc, error) {
	var v struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Doc{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if v.Text == nil {
		return Doc{}, fmt.Errorf("%w: no \"text\" string", errMalformed)
	}
	ids := p.tok.Encode(*v.Text)
	ids = ids[:min(len(ids), p.cfg.MaxSeqLen-2)]
	toks := make([]int32, 0, len(ids)+2) // [bos] + tokens + [eos]
	toks = append(toks, p.cfg.BOS)
	toks = append(toks, ids...)
	toks = append(toks, p.cfg.EOS)
	return Doc{Tokens: toks}, nil
}

// dpo makes a preference pair: the chosen conversation padded to
// MaxSeqLen (padding unlabelled), then the rejected one.
func (p *Processor) dpo(data []byte, line int) (Doc, error) {
	var v struct {
		Chosen   []json.RawMessage `json:"chosen"`
		Rejected []json.RawMessage `json:"rejected"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Doc{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if len(v.Chosen) == 0 || len(v.Rejected) == 0 {
		return Doc{}, fmt.Errorf("%w: needs non-empty \"chosen\" and \"rejected\" message lists", errMalformed)
	}
	c, err := p.conversation(v.Chosen, line, "chosen")
	if err != nil {
		return Doc{}, err
	}
	r, err := p.conversation(v.Rejected, line, "rejected")
	if err != nil {
		return Doc{}, err
	}
	L := p.cfg.MaxSeqLen
	d := Doc{Tokens: make([]int32, L, L+len(r.Tokens)), Mask: make([]bool, L, L+len(r.Tokens))}
	for i := range L {
		d.Tokens[i] = p.cfg.PAD
	}
	copy(d.Tokens, c.Tokens)
	copy(d.Mask, c.Mask)
	d.Tokens = append(d.Tokens, r.Tokens...)
	d.Mask = append(d.Mask, r.Mask...)
	return d, nil
}

// SplitPair returns the chosen and rejected sides of a DPO sample (the
// chosen side keeps its padding to maxSeqLen).
func SplitPair(d Doc, maxSeqLen int) (chosen, rejected Doc) {
	n := min(maxSeqLen, len(d.Tokens))
	chosen = Doc{Tokens: d.Tokens[:n]}
	rejected = Doc{Tokens: d.Tokens[n:]}
	if d.Mask != nil {
		chosen.Mask, rejected.Mask = d.Mask[:n], d.Mask[n:]
	}
	return chosen, rejected
}

func (p *Processor) sft(data []byte, line int) (Doc, error) {
	var v struct {
		Conversations []json.RawMessage `json:"conversations"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Doc{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return p.conversation(v.Conversations, line, "conversations")
}

// conversation renders and labels one message list (field names it in errors).
func (p *Processor) conversation(msgs []json.RawMessage, line int, field string) (Doc, error) {
	if len(msgs) == 0 {
		return Doc{}, fmt.Errorf("%w: no \"%s\" messages", errMalformed, field)
	}
	var firstRole string
	var tools []json.RawMessage
	for i, raw := range msgs {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return Doc{}, fmt.Errorf("%w: %s[%d] is not an object", errMalformed, field, i)
		}
		var role string
		if err := json.Unmarshal(m["role"], &role); err != nil {
			return Doc{}, fmt.Errorf("%w: %s[%d] has no \"role\" string", errMalformed, field, i)
		}
		if c, ok := m["content"]; ok {
			var s *string
			if err := json.Unmarshal(c, &s); err != nil {
				return Doc{}, fmt.Errorf("%w: %s[%d].content is not a string", errMalformed, field, i)
			}
		}
		if i == 0 {
			firstRole = role
			if role == "system" {
				var err error
				if tools, err = parseTools(m["functions"]); err != nil {
					return Doc{}, fmt.Errorf("%w: %s[0].functions: %v", errMalformed, field, err)
				}
			}
		}
	}
	if p.cfg.SystemPrompts && firstRole != "system" {
		rng := rand.New(rand.NewPCG(p.cfg.Seed, uint64(line)))
		if rng.Float64() < 0.2 {
			sys, err := json.Marshal(struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			}{"system", pickSystemPrompt(rng)})
			if err != nil {
				return Doc{}, err
			}
			msgs = append([]json.RawMessage{sys}, msgs...)
		}
	}
	arr, err := json.Marshal(msgs)
	if err != nil {
		return Doc{}, err
	}
	text, err := p.tok.RenderChat(arr, tools)
	if err != nil {
		return Doc{}, fmt.Errorf("%w: chat template: %v", errMalformed, err)
	}
	ids := p.tok.Encode(text)
	ids = ids[:min(len(ids), p.cfg.MaxSeqLen)]
	return Doc{Tokens: ids, Mask: AssistantMask(ids, p.start, p.end)}, nil
}

// parseTools reads the "functions" of a leading system message, the tools
// MiniMind passes to the chat template: a JSON array, or a string holding
// one. Absent, null, empty arrays and empty strings mean no tools.
func parseTools(raw json.RawMessage) ([]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New("not a JSON array of tools")
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

// AssistantMask marks the tokens of ids that follow each occurrence of
// start, up to and including the next occurrence of end (to the end of ids
// when end does not follow).
func AssistantMask(ids, start, end []int32) []bool {
	mask := make([]bool, len(ids))
	for i := 0; i < len(ids); {
		if !hasAt(ids, i, start) {
			i++
			continue
		}
		s := i + len(start)
		e := s
		for e < len(ids) && !hasAt(ids, e, end) {
			e++
		}
		stop := min(e+len(end), len(ids))
		for j := s; j < stop; j++ {
			mask[j] = true
		}
		i = stop
	}
	return mask
}

func hasAt(ids []int32, i int, pat []int32) bool {
	if i+len(pat) > len(ids) {
		return false
	}
	for j, v := range pat {
		if ids[i+j] != v {
			return false
		}
	}
	return true
}

// pickSystemPrompt returns one of the system messages prepended to some SFT
// samples.
func pickSystemPrompt(rng *rand.Rand) string {
	prompts := [...]string{
		"你是一个知识丰富的AI，尽力为用户提供准确的信息。",
		"你是minimind，一个小巧但有用的语言模型。",
		"你是一个专业的AI助手，请提供有价值的回答。",
		"你是minimind，请尽力帮助用户解决问题。",
		"你是一个可靠的AI，请给出准确的回答。",
		"You are a helpful AI assistant.",
		"You are minimind, a lightweight intelligent assistant.",
		"You are a friendly chatbot. Please answer the user's questions carefully.",
		"You are a knowledgeable AI. Try your best to provide accurate information.",
		"You are minimind, a small but useful language model.",
	}
	return prompts[rng.IntN(len(prompts))]
}
