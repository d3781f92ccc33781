package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/minimind-go/minimind/tokenizer"
)

// Request is a decoded and checked /v1/chat/completions request.
type Request struct {
	Model    string
	Messages []tokenizer.Message // roles system, user, assistant, tool; content as one string
	// MaxTokens is max_completion_tokens or max_tokens; 0 when not given.
	MaxTokens   int
	Temperature float32 // 0: greedy
	TopP        float32 // 0 or 1: off
	TopK        int     // 0: off
	Seed        *uint64 // nil: a fresh seed per request
	Stop        []string
	Stream      bool
	// IncludeUsage asks for a final stream chunk with the token counts.
	IncludeUsage bool
	// Tools are the tool schemas as sent (key order kept for the template).
	Tools []json.RawMessage
	// ToolChoice is "auto", "none", "required" or "function" (then
	// ToolName names the function).
	ToolChoice string
	ToolName   string
	// Thinking asks the model to reason first (MiniMind's open_thinking /
	// enable_thinking switch).
	Thinking bool
}

// Sampling defaults of MiniMind's own server (scripts/serve_openai_api.py).
const (
	DefaultTemperature = 0.7
	DefaultTopP        = 0.92
	DefaultTopK        = 50
)

// rawRequest is the wire form of a request; pointers tell absent from zero.
type rawRequest struct {
	Model               *string         `json:"model"`
	Messages            []rawMessage    `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int            `json:"top_k"`
	Seed                *int64          `json:"seed"`
	N                   *int            `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	Stream              *bool           `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage *bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools              []json.RawMessage          `json:"tools"`
	ToolChoice         json.RawMessage            `json:"tool_choice"`
	ChatTemplateKwargs map[string]json.RawMessage `json:"chat_template_kwargs"`
	OpenThinking       *bool                      `json:"open_thinking"`
	EnableThinking     *bool                      `json:"enable_thinking"`
}

type rawMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	ReasoningContent *string         `json:"reasoning_content"`
	ToolCalls        json.RawMessage `json:"tool_calls"`
}

// maxStops is OpenAI's limit on stop sequences.
const maxStops = 4

// DecodeRequest parses and checks a chat completion request body. maxTokens
// (> 0) bounds max_tokens. Errors are 400s naming the offending field.
func DecodeRequest(body []byte, maxTokens int) (*Request, *Error) {
	var raw rawRequest
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, jsonError(err)
	}
	r := &Request{Temperature: DefaultTemperature, TopP: DefaultTopP, TopK: DefaultTopK, ToolChoice: "auto"}
	if raw.Model == nil || *raw.Model == "" {
		return nil, invalid("model", "a model is required (see GET /v1/models)")
	}
	r.Model = *raw.Model
	if len(raw.Messages) == 0 {
		return nil, invalid("messages", "at least one message is required")
	}
	for i, m := range raw.Messages {
		msg, err := decodeMessage(i, m)
		if err != nil {
			return nil, err
		}
		r.Messages = append(r.Messages, msg)
	}
	mt := raw.MaxTokens
	param := "max_tokens"
	if raw.MaxCompletionTokens != nil {
		mt, param = raw.MaxCompletionTokens, "max_completion_tokens"
	}
	if mt != nil {
		if *mt < 1 {
			return nil, invalid(param, "must be at least 1, got %d", *mt)
		}
		if maxTokens > 0 && *mt > maxTokens {
			return nil, invalid(param, "%d is more than this server's limit of %d", *mt, maxTokens)
		}
		r.MaxTokens = *mt
	}
	if v := raw.Temperature; v != nil {
		if math.IsNaN(*v) || *v < 0 || *v > 2 {
			return nil, invalid("temperature", "must be between 0 and 2, got %g", *v)
		}
		r.Temperature = float32(*v)
	}
	if v := raw.TopP; v != nil {
		if math.IsNaN(*v) || *v <= 0 || *v > 1 {
			return nil, invalid("top_p", "must be in (0, 1], got %g", *v)
		}
		r.TopP = float32(*v)
	}
	if v := raw.TopK; v != nil {
		if *v < 0 {
			return nil, invalid("top_k", "must be 0 (off) or positive, got %d", *v)
		}
		r.TopK = *v
	}
	if raw.Seed != nil {
		s := uint64(*raw.Seed)
		r.Seed = &s
	}
	if raw.N != nil && *raw.N != 1 {
		return nil, invalid("n", "only n = 1 is supported, got %d", *raw.N)
	}
	stops, err := decodeStop(raw.Stop)
	if err != nil {
		return nil, err
	}
	r.Stop = stops
	r.Stream = raw.Stream != nil && *raw.Stream
	if so := raw.StreamOptions; so != nil && so.IncludeUsage != nil {
		r.IncludeUsage = *so.IncludeUsage
	}
	names := map[string]bool{}
	for i, t := range raw.Tools {
		name, err := toolName(t)
		if err != nil {
			return nil, invalid(fmt.Sprintf("tools[%d]", i), "%s", err)
		}
		names[name] = true
	}
	r.Tools = raw.Tools
	if err := r.decodeToolChoice(raw.ToolChoice, names); err != nil {
		return nil, err
	}
	for _, b := range []*bool{raw.OpenThinking, raw.EnableThinking} {
		if b != nil && *b {
			r.Thinking = true
		}
	}
	for _, key := range []string{"enable_thinking", "open_thinking"} {
		v, ok := raw.ChatTemplateKwargs[key]
		if !ok {
			continue
		}
		var b *bool
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, invalid("chat_template_kwargs."+key, "must be true or false")
		}
		if b != nil && *b {
			r.Thinking = true
		}
	}
	return r, nil
}

// jsonError turns a decoding error into a 400 naming the field.
func jsonError(err error) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return invalid("", "the request body must be a JSON object, not %s", te.Value)
		}
		return invalid(te.Field, "expected %s, got %s", jsonType(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid("", "the request body is not valid JSON (at byte %d): %s", se.Offset, se.Error())
	}
	return invalid("", "the request body is not valid JSON: %s", err.Error())
}

// jsonType names a Go kind in JSON's words.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice":
		return "an array"
	case kind == "ptr":
		return "an object"
	}
	return "an object"
}

func decodeMessage(i int, m rawMessage) (tokenizer.Message, *Error) {
	field := func(f string) string { return fmt.Sprintf("messages[%d].%s", i, f) }
	role := m.Role
	switch role {
	case "system", "user", "assistant", "tool":
	case "developer":
		role = "system"
	case "":
		return tokenizer.Message{}, invalid(field("role"), "a role is required")
	default:
		return tokenizer.Message{}, invalid(field("role"), "unknown role %q (system, developer, user, assistant or tool)", m.Role)
	}
	msg := tokenizer.Message{Role: role}
	content, err := decodeContent(field("content"), m.Content)
	if err != nil {
		return msg, err
	}
	if content == nil {
		if role != "assistant" {
			return msg, invalid(field("content"), "content is required for a %s message", role)
		}
		content = new(string)
	}
	msg.Content = *content
	if m.ReasoningContent != nil && role == "assistant" {
		msg.ReasoningContent = *m.ReasoningContent
	}
	if len(m.ToolCalls) > 0 && !bytes.Equal(m.ToolCalls, []byte("null")) {
		if role != "assistant" {
			return msg, invalid(field("tool_calls"), "only assistant messages carry tool calls")
		}
		var calls []struct {
			Function *struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		}
		if err := json.Unmarshal(m.ToolCalls, &calls); err != nil {
			return msg, invalid(field("tool_calls"), "must be an array of {type, id, function: {name, arguments}}")
		}
		for j, c := range calls {
			if c.Function == nil || c.Function.Name == "" {
				return msg, invalid(fmt.Sprintf("messages[%d].tool_calls[%d].function.name", i, j), "a function name is required")
			}
		}
		msg.ToolCalls = m.ToolCalls
	}
	return msg, nil
}

// decodeContent reads a message content: a string, an array of text parts,
// or null (nil).
func decodeContent(param string, raw json.RawMessage) (*string, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid(param, "invalid string")
		}
		return &s, nil
	case '[':
		var parts []struct {
			Type string  `json:"type"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &parts); err != nil {
			return nil, invalid(param, "must be a string or an array of {\"type\": \"text\", \"text\": ...} parts")
		}
		texts := make([]string, 0, len(parts))
		for j, p := range parts {
			if p.Type != "text" {
				return nil, invalid(fmt.Sprintf("%s[%d].type", param, j), "only text parts are supported, got %q", p.Type)
			}
			if p.Text == nil {
				return nil, invalid(fmt.Sprintf("%s[%d].text", param, j), "a text part needs its text")
			}
			texts = append(texts, *p.Text)
		}
		s := strings.Join(texts, "\n")
		return &s, nil
	}
	return nil, invalid(param, "must be a string or an array of text parts")
}

func decodeStop(raw json.RawMessage) ([]string, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var stops []string
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("stop", "invalid string")
		}
		stops = []string{s}
	} else if err := json.Unmarshal(raw, &stops); err != nil {
		return nil, invalid("stop", "must be a string or an array of strings")
	}
	if len(stops) > maxStops {
		return nil, invalid("stop", "at most %d stop sequences, got %d", maxStops, len(stops))
	}
	for i, s := range stops {
		if s == "" {
			return nil, invalid(fmt.Sprintf("stop[%d]", i), "a stop sequence cannot be empty")
		}
	}
	return stops, nil
}

// toolName checks a tool schema {"type": "function", "function": {"name",
// "description", "parameters"}} and returns its name.
func toolName(raw json.RawMessage) (string, error) {
	var t struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", errors.New("must be an object {\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}")
	}
	if t.Type != "function" {
		return "", fmt.Errorf("only function tools are supported, got type %q", t.Type)
	}
	if t.Function == nil || t.Function.Name == "" {
		return "", errors.New("function.name is required")
	}
	return t.Function.Name, nil
}

func (r *Request) decodeToolChoice(raw json.RawMessage, names map[string]bool) *Error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		json.Unmarshal(raw, &s)
		switch s {
		case "auto", "none", "required":
			if s == "required" && len(names) == 0 {
				return invalid("tool_choice", "\"required\" needs tools")
			}
			r.ToolChoice = s
			return nil
		}
		return invalid("tool_choice", "must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}, got %q", s)
	}
	var c struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.Type != "function" {
		return invalid("tool_choice", "must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
	}
	if !names[c.Function.Name] {
		return invalid("tool_choice.function.name", "no tool named %q in tools", c.Function.Name)
	}
	r.ToolChoice, r.ToolName = "function", c.Function.Name
	return nil
}
