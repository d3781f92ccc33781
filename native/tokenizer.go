package native

import (
	"encoding/json"

	"github.com/minimind-go/minimind/tokenizer"
)

// FromTokenizer adapts a tokenizer.Tokenizer (safe for concurrent use) to
// the data pipeline: Encode adds no special tokens, and RenderChat applies
// the tokenizer_config.json chat template to the messages as written.
func FromTokenizer(tk *tokenizer.Tokenizer) Tokenizer { return hfTokenizer{tk} }

type hfTokenizer struct{ tk *tokenizer.Tokenizer }

// Encode implements Tokenizer.
func (h hfTokenizer) Encode(text string) []int32 { return h.tk.Encode(text) }

// RenderChat implements Tokenizer.
func (h hfTokenizer) RenderChat(messages json.RawMessage, tools []json.RawMessage) (string, error) {
	var opt tokenizer.ChatOptions
	for _, t := range tools {
		opt.Tools = append(opt.Tools, t)
	}
	return h.tk.ApplyChatTemplateJSON(messages, opt)
}
