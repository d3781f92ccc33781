package convert

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/minimind-go/minimind/tokenizer"
)

// ollama's TEMPLATE is a Go text/template over .Messages (Role, Content and,
// for reasoning models, Thinking). These two mirror MiniMind's Jinja chat
// templates for conversations without tools, with the generation prompt.
const (
	// templateMiniMind2: a default system prompt, ChatML turns, and the
	// assistant prompt.
	templateMiniMind2 = `{{- if or (not .Messages) (ne (index .Messages 0).Role "system") }}<|im_start|>system
You are a helpful assistant<|im_end|>
{{ end }}
{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
`
	// templateMiniMind3: no default system prompt; assistant turns carry a
	// think block; the generation prompt closes an empty one.
	templateMiniMind3 = `{{- range .Messages }}
{{- if eq .Role "assistant" }}<|im_start|>assistant
<think>
{{ .Thinking }}
</think>

{{ .Content }}<|im_end|>
{{ else }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}
{{- end }}<|im_start|>assistant
<think>

</think>

`
)

// OllamaTemplate returns the ollama TEMPLATE that renders the same prompt as
// tok's Jinja chat template, and checks that it does on sample conversations.
func OllamaTemplate(tok *tokenizer.Tokenizer) (string, error) {
	c := tok.Config()
	if c == nil || c.ChatTemplate == "" {
		return "", fmt.Errorf("convert: the tokenizer has no chat template")
	}
	tmpl := templateMiniMind2
	if strings.Contains(c.ChatTemplate, "open_thinking") {
		tmpl = templateMiniMind3
	}
	if err := CheckTemplate(tok, tmpl); err != nil {
		return "", err
	}
	return tmpl, nil
}

// ollamaMessage is the part of ollama's message the templates use.
type ollamaMessage struct {
	Role, Content, Thinking string
}

// SampleConversations are the conversations CheckTemplate renders.
var SampleConversations = [][]tokenizer.Message{
	{{Role: "user", Content: "Who are you?"}},
	{{Role: "system", Content: "You are MiniMind."}, {Role: "user", Content: "你好"}},
	{{Role: "user", Content: "What is a house?"}, {Role: "assistant", Content: "A house is a building."}, {Role: "user", Content: "And a river?"}},
	{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "1+1?"}, {Role: "assistant", Content: "2"}, {Role: "user", Content: "2+2?"}},
}

// RenderOllama renders an ollama TEMPLATE as ollama does (Go text/template).
func RenderOllama(tmpl string, msgs []tokenizer.Message) (string, error) {
	t, err := template.New("TEMPLATE").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("convert: ollama template: %w", err)
	}
	var om []ollamaMessage
	for _, m := range msgs {
		om = append(om, ollamaMessage{Role: m.Role, Content: m.Content})
	}
	var sb strings.Builder
	if err := t.Execute(&sb, map[string]any{"Messages": om}); err != nil {
		return "", fmt.Errorf("convert: ollama template: %w", err)
	}
	return sb.String(), nil
}

// CheckTemplate renders SampleConversations with the ollama template and
// with tok's Jinja template (generation prompt on) and reports the first
// difference.
func CheckTemplate(tok *tokenizer.Tokenizer, tmpl string) error {
	for i, conv := range SampleConversations {
		want, err := tok.ApplyChatTemplate(conv, tokenizer.ChatOptions{AddGenerationPrompt: true})
		if err != nil {
			return fmt.Errorf("convert: chat template: %w", err)
		}
		got, err := RenderOllama(tmpl, conv)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("convert: the ollama TEMPLATE renders conversation %d as %q, the chat template as %q", i, got, want)
		}
	}
	return nil
}

// Modelfile returns an ollama Modelfile for src whose FROM is ggufPath: the
// TEMPLATE, the stop tokens and MiniMind's sampling defaults.
func Modelfile(src *Source, ggufPath string) (string, error) {
	tmpl, err := OllamaTemplate(src.Tok)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "# ollama create minimind -f Modelfile && ollama run minimind\nFROM %s\n\n", ggufPath)
	fmt.Fprintf(&sb, "TEMPLATE \"\"\"%s\"\"\"\n\n", tmpl)
	for _, s := range []string{"<|im_end|>", "<|im_start|>", "<|endoftext|>"} {
		if _, ok := src.Tok.TokenToID(s); ok {
			fmt.Fprintf(&sb, "PARAMETER stop %q\n", s)
		}
	}
	fmt.Fprintf(&sb, "PARAMETER temperature 0.85\nPARAMETER top_p 0.85\nPARAMETER repeat_penalty 1\nPARAMETER num_ctx %d\n", min(src.Config.MaxPos, 8192))
	return sb.String(), nil
}
