package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/minimind-go/minimind/tokenizer/jinja"
)

// Message is one turn of a conversation for ApplyChatTemplate.
type Message struct {
	Role    string `json:"role"`    // "system", "user", "assistant" or "tool"
	Content string `json:"content"` // the text of the turn
	// ReasoningContent is an assistant's thinking; when empty the key is left
	// out, so that MiniMind-3's template takes it from <think>…</think> in
	// Content.
	ReasoningContent string `json:"reasoning_content,omitempty"`
	// ToolCalls is any JSON, usually a list of {"type": "function",
	// "function": {"name": ..., "arguments": {...}}}; key order is kept.
	ToolCalls json.RawMessage `json:"tool_calls,omitempty"`
}

// ChatOptions are the other inputs of a chat template.
type ChatOptions struct {
	// Tools are the tool (function) schemas offered to the model, each any
	// JSON value (json.RawMessage keeps key order); nil leaves tools
	// undefined.
	Tools []any
	// AddGenerationPrompt appends the start of the assistant's turn.
	AddGenerationPrompt bool
	// Vars are extra template variables, such as "enable_thinking" (false
	// for MiniMind2's empty think block) or "open_thinking" (MiniMind-3).
	Vars map[string]any
}

// chatTemplate caches the parsed chat template.
type chatTemplate struct {
	mu  sync.Mutex
	src string
	tpl *jinja.Template
}

// template returns the parsed chat template of t.
func (t *Tokenizer) template() (*jinja.Template, error) {
	if t.config == nil || t.config.ChatTemplate == "" {
		return nil, errors.New("tokenizer: no chat template (tokenizer_config.json has no chat_template)")
	}
	src := t.config.ChatTemplate
	c := &t.chat
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tpl == nil || c.src != src {
		tpl, err := jinja.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: chat_template: %w", err)
		}
		c.src, c.tpl = src, tpl
	}
	return c.tpl, nil
}

// ApplyChatTemplate renders a conversation with the tokenizer's chat
// template exactly as @huggingface/jinja (and so transformers.js) does. The
// template also sees bos_token, eos_token, pad_token and unk_token.
func (t *Tokenizer) ApplyChatTemplate(messages []Message, opts ChatOptions) (string, error) {
	raw, err := json.Marshal(messages)
	if err != nil {
		return "", fmt.Errorf("tokenizer: messages: %w", err)
	}
	return t.ApplyChatTemplateJSON(raw, opts)
}

// ApplyChatTemplateMaps is ApplyChatTemplate for generic messages, such as
// the ones decoded from a jsonl line. Go maps have no key order, so keys are
// sorted; use ApplyChatTemplateJSON to keep the written order.
func (t *Tokenizer) ApplyChatTemplateMaps(messages []map[string]any, opts ChatOptions) (string, error) {
	list := make([]any, len(messages))
	for i, m := range messages {
		list[i] = m
	}
	return t.render(list, opts)
}

// ApplyChatTemplateJSON is ApplyChatTemplate for messages given as a JSON
// array (for example the "conversations" of an SFT jsonl line); every key
// and value is passed on as written, in order.
func (t *Tokenizer) ApplyChatTemplateJSON(messages json.RawMessage, opts ChatOptions) (string, error) {
	return t.render(messages, opts)
}

func (t *Tokenizer) render(messages any, opts ChatOptions) (string, error) {
	tpl, err := t.template()
	if err != nil {
		return "", err
	}
	vars := map[string]any{
		"messages":              messages,
		"add_generation_prompt": opts.AddGenerationPrompt,
		"bos_token":             t.config.BOSToken,
		"eos_token":             t.config.EOSToken,
		"pad_token":             t.config.PadToken,
		"unk_token":             t.config.UnkToken,
	}
	if opts.Tools != nil {
		vars["tools"] = opts.Tools
	}
	for k, v := range opts.Vars {
		vars[k] = v
	}
	s, err := tpl.Render(vars)
	if err != nil {
		return "", fmt.Errorf("tokenizer: chat template: %w", err)
	}
	return s, nil
}
