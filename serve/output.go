package serve

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/minimind-go/minimind/tokenizer"
)

// Tags of MiniMind's chat template.
const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
	toolOpen   = "<tool_call>"
	toolClose  = "</tool_call>"
)

// ToolCall is a function call parsed from a <tool_call> block.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text
}

// Delta is a piece of the reply: reasoning text, answer text or a whole
// tool call (one of them set).
type Delta struct {
	Reasoning string
	Content   string
	Tool      *ToolCall
}

// Output turns generated tokens into reply deltas, as they arrive: it
// decodes the text (whole characters only), cuts it at the first stop
// sequence, routes the <think> part to reasoning and the rest to content,
// and parses <tool_call> JSON blocks into tool calls. The non-streamed reply
// is the concatenation of the streamed deltas.
type Output struct {
	dec   *tokenizer.StreamDecoder
	stops []string
	held  string // decoded text held back while it may start a stop sequence
	// Stopped is set once a stop sequence was generated; the caller then
	// ends generation.
	Stopped bool

	mode       int
	buf        string // text not yet routed (a tag may be starting)
	trimLeadNL bool   // drop newlines at the start of the current part
	tools      bool
}

const (
	modeStart   = iota // no text yet: a <think> block may open
	modeReason         // inside <think>…</think>
	modeContent        // the answer
	modeTool           // inside <tool_call>…</tool_call>
)

// NewOutput returns an Output over tok's decoding (special tokens left
// out). thinking says that the prompt already opened a <think> block; tools
// enables tool-call parsing.
func NewOutput(tok *tokenizer.Tokenizer, stops []string, thinking, tools bool) *Output {
	o := &Output{dec: tok.NewStreamDecoderSkipSpecial(), stops: stops, tools: tools}
	if thinking {
		o.mode, o.trimLeadNL = modeReason, true
	}
	return o
}

// Push adds a generated token and returns the deltas that are complete.
func (o *Output) Push(id int32) []Delta {
	if o.Stopped {
		return nil
	}
	return o.route(o.stop(o.dec.Push(id), false), false)
}

// Finish returns what is held back at the end of generation.
func (o *Output) Finish() []Delta {
	var text string
	if !o.Stopped {
		text = o.stop(o.dec.Flush(), true)
	}
	return o.route(text, true)
}

// stop appends text to the stop-sequence window and returns what can be
// released: everything before a stop sequence, or everything but a tail
// that may still become one.
func (o *Output) stop(text string, final bool) string {
	if len(o.stops) == 0 {
		return text
	}
	s := o.held + text
	cut := -1
	for _, st := range o.stops {
		if i := strings.Index(s, st); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		o.Stopped, o.held = true, ""
		return s[:cut]
	}
	if final {
		o.held = ""
		return s
	}
	keep := 0
	for _, st := range o.stops {
		keep = max(keep, partialSuffix(s, st))
	}
	o.held = s[len(s)-keep:]
	return s[:len(s)-keep]
}

// partialSuffix is the length of the longest proper prefix of tag that s
// ends with.
func partialSuffix(s, tag string) int {
	for n := min(len(tag)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}

// route splits text between reasoning, content and tool calls.
func (o *Output) route(text string, final bool) []Delta {
	o.buf += text
	var out []Delta
	add := func(d Delta) {
		if d.Reasoning != "" || d.Content != "" || d.Tool != nil {
			out = append(out, d)
		}
	}
	for {
		if o.trimLeadNL {
			o.buf = strings.TrimLeft(o.buf, "\n")
			if o.buf == "" && !final {
				return out
			}
			o.trimLeadNL = false
		}
		switch o.mode {
		case modeStart:
			t := strings.TrimLeft(o.buf, " \n")
			switch {
			case strings.HasPrefix(t, thinkOpen):
				o.buf, o.mode, o.trimLeadNL = t[len(thinkOpen):], modeReason, true
				continue
			case !final && (t == "" || strings.HasPrefix(thinkOpen, t)):
				return out // not known yet
			}
			o.mode = modeContent
		case modeReason:
			if i := strings.Index(o.buf, thinkClose); i >= 0 {
				add(Delta{Reasoning: strings.TrimRight(o.buf[:i], "\n")})
				o.buf, o.mode, o.trimLeadNL = o.buf[i+len(thinkClose):], modeContent, true
				continue
			}
			if final {
				add(Delta{Reasoning: strings.TrimRight(o.buf, "\n")})
				o.buf = ""
				return out
			}
			n := len(o.buf) - partialSuffix(o.buf, thinkClose)
			n = len(strings.TrimRight(o.buf[:n], "\n")) // newlines before </think> are dropped
			add(Delta{Reasoning: o.buf[:n]})
			o.buf = o.buf[n:]
			return out
		case modeContent:
			if o.tools {
				if i := strings.Index(o.buf, toolOpen); i >= 0 {
					add(Delta{Content: o.buf[:i]})
					o.buf, o.mode = o.buf[i+len(toolOpen):], modeTool
					continue
				}
			}
			n := len(o.buf)
			if o.tools && !final {
				n -= partialSuffix(o.buf, toolOpen)
			}
			add(Delta{Content: o.buf[:n]})
			o.buf = o.buf[n:]
			return out
		case modeTool:
			if i := strings.Index(o.buf, toolClose); i >= 0 {
				block := o.buf[:i]
				if tc, ok := parseToolCall(block); ok {
					add(Delta{Tool: tc})
				} else {
					add(Delta{Content: toolOpen + block + toolClose})
				}
				o.buf, o.mode = o.buf[i+len(toolClose):], modeContent
				continue
			}
			if final {
				add(Delta{Content: toolOpen + o.buf})
				o.buf = ""
			}
			return out
		}
	}
}

// parseToolCall reads {"name": ..., "arguments": ...} (MiniMind's template
// form); arguments may be an object or a JSON string.
func parseToolCall(block string) (*ToolCall, bool) {
	var c struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(block)), &c); err != nil || c.Name == "" {
		return nil, false
	}
	args := "{}"
	if a := bytes.TrimSpace(c.Arguments); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		var s string
		if a[0] == '"' && json.Unmarshal(a, &s) == nil {
			args = s
		} else {
			var buf bytes.Buffer
			if json.Compact(&buf, a) != nil {
				return nil, false
			}
			args = buf.String()
		}
	}
	return &ToolCall{ID: "call_" + randomHex(12), Name: c.Name, Arguments: args}, true
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
