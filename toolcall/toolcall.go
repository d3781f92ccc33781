// Package toolcall parses the <tool_call> blocks of MiniMind's chat format,
// runs deterministic tools behind a small interface with a time limit, and
// provides the tools of the agent stage: a calculator, a unit converter and
// a lookup table. No tool evaluates code.
//
// A tool call is written by the model as
//
//	<tool_call>
//	{"name": "calculate_math", "arguments": {"expression": "2*(3+4)"}}
//	</tool_call>
//
// and its result goes back to the model as a "tool" message, which the chat
// template renders inside <tool_response>…</tool_response>.
package toolcall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Call is one parsed tool call.
type Call struct {
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

const (
	openTag  = "<tool_call>"
	closeTag = "</tool_call>"
)

// Parse returns the calls of every <tool_call>…</tool_call> block of text,
// in order, as MiniMind's parse_tool_calls: a block whose content is not a
// JSON object is skipped. Arguments given as a JSON string are decoded
// (left empty when that fails). Unclosed blocks are ignored.
func Parse(text string) []Call {
	var out []Call
	for {
		i := strings.Index(text, openTag)
		if i < 0 {
			return out
		}
		text = text[i+len(openTag):]
		j := strings.Index(text, closeTag)
		if j < 0 {
			return out
		}
		body := strings.TrimSpace(text[:j])
		text = text[j+len(closeTag):]
		var raw struct {
			Name      any             `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal([]byte(body), &raw); err != nil {
			continue
		}
		c := Call{Arguments: map[string]any{}}
		c.Name, _ = raw.Name.(string)
		if len(raw.Arguments) > 0 {
			var s string
			if json.Unmarshal(raw.Arguments, &s) == nil {
				_ = json.Unmarshal([]byte(s), &c.Arguments)
			} else {
				_ = json.Unmarshal(raw.Arguments, &c.Arguments)
			}
			if c.Arguments == nil {
				c.Arguments = map[string]any{}
			}
		}
		out = append(out, c)
	}
}

// TagImbalance is |#<tool_call> − #</tool_call>| in text (MiniMind's agent
// reward subtracts 0.5 per unit).
func TagImbalance(text string) int {
	d := strings.Count(text, openTag) - strings.Count(text, closeTag)
	if d < 0 {
		return -d
	}
	return d
}

// Tool is a function the model may call. Implementations must be
// deterministic and return promptly when ctx is done.
type Tool interface {
	// Name is the function name the model writes.
	Name() string
	// Schema is the OpenAI-style function schema shown to the model
	// ({"type": "function", "function": {...}}).
	Schema() json.RawMessage
	// Check reports whether args carry the required arguments.
	Check(args map[string]any) bool
	// Run executes the call and returns its JSON-encodable result.
	Run(ctx context.Context, args map[string]any) (any, error)
}

// ErrNotFound is returned for a call of an unknown tool.
var ErrNotFound = errors.New("toolcall: tool not found")

// ErrTimeout is returned when a tool runs past the time limit.
var ErrTimeout = errors.New("toolcall: tool timed out")

// Set is the tools offered in a conversation.
type Set struct {
	tools map[string]Tool
	// Timeout bounds every call (default 1 s, as MiniMind's SIGALRM).
	Timeout time.Duration
	// MaxResult caps the result text (default 2048 characters).
	MaxResult int
}

// NewSet returns a set of tools; a later tool replaces an earlier one of
// the same name.
func NewSet(tools ...Tool) *Set {
	s := &Set{tools: map[string]Tool{}, Timeout: time.Second, MaxResult: 2048}
	for _, t := range tools {
		s.tools[t.Name()] = t
	}
	return s
}

// Only returns the set restricted to the named tools (a conversation's
// tools list), with the same limits; names the set does not hold are left
// out, so calling them gives the not-found result.
func (s *Set) Only(names []string) *Set {
	o := &Set{tools: map[string]Tool{}, Timeout: s.Timeout, MaxResult: s.MaxResult}
	for _, n := range names {
		if t, ok := s.tools[n]; ok {
			o.tools[n] = t
		}
	}
	return o
}

// SchemaName returns the function name of an OpenAI-style tool schema
// ({"type": "function", "function": {"name": ...}}, or {"name": ...}).
func SchemaName(schema json.RawMessage) (string, error) {
	var v struct {
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(schema, &v); err != nil {
		return "", fmt.Errorf("toolcall: tool schema: %w", err)
	}
	if v.Function.Name != "" {
		return v.Function.Name, nil
	}
	if v.Name != "" {
		return v.Name, nil
	}
	return "", errors.New("toolcall: tool schema has no function name")
}

// Names lists the tools' names, sorted.
func (s *Set) Names() []string {
	var ns []string
	for n := range s.tools {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Schemas returns the tools' schemas in name order (for the chat template).
func (s *Set) Schemas() []any {
	var out []any
	for _, n := range s.Names() {
		out = append(out, s.tools[n].Schema())
	}
	return out
}

// Valid reports whether c names a tool of the set with its required
// arguments (MiniMind's valid call).
func (s *Set) Valid(c Call) bool {
	t, ok := s.tools[c.Name]
	return ok && t.Check(c.Arguments)
}

// Run executes c with the set's time limit and returns the result text for
// the tool message: the result as JSON, or {"error": "..."} (MiniMind writes
// {"error": "tool not found"} for every failure), cut to MaxResult. A tool
// that does not return within the limit is abandoned (its goroutine is left
// to finish on its own; tools must honour ctx).
func (s *Set) Run(ctx context.Context, c Call) (string, error) {
	t, ok := s.tools[c.Name]
	if !ok {
		return s.cut(`{"error": "tool not found"}`), ErrNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	type result struct {
		v   any
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{nil, fmt.Errorf("toolcall: %s panicked: %v", c.Name, r)}
			}
		}()
		v, err := t.Run(ctx, c.Arguments)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return s.cut(errJSON(r.err.Error())), r.err
		}
		b, err := json.Marshal(r.v)
		if err != nil {
			return s.cut(errJSON(err.Error())), err
		}
		return s.cut(string(b)), nil
	case <-ctx.Done():
		return s.cut(errJSON("timeout")), fmt.Errorf("%w: %s after %v", ErrTimeout, c.Name, s.Timeout)
	}
}

func errJSON(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}

func (s *Set) cut(x string) string {
	if s.MaxResult > 0 && len(x) > s.MaxResult {
		return x[:s.MaxResult]
	}
	return x
}

// schema builds a function schema with string/number parameters.
func schema(name, desc string, params map[string]string, required ...string) json.RawMessage {
	props := map[string]any{}
	for k, typ := range params {
		props[k] = map[string]string{"type": typ}
	}
	if required == nil {
		required = []string{}
	}
	b, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]any{
		"name": name, "description": desc,
		"parameters": map[string]any{"type": "object", "properties": props, "required": required}}})
	return b
}

func str(args map[string]any, k string) string {
	s, _ := args[k].(string)
	return s
}
