package tokenizer

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestApplyChatTemplateGolden renders the golden conversations of both
// fixtures through ApplyChatTemplateJSON, ApplyChatTemplate (when the
// messages fit Message) and ApplyChatTemplateMaps (when key order cannot
// matter), and compares with @huggingface/jinja.
func TestApplyChatTemplateGolden(t *testing.T) {
	toks := map[string]*Tokenizer{}
	for _, fx := range fixtures {
		toks[fx.key] = loadFixture(t, fx.dir)
	}
	counts := map[string]int{}
	readGzipLines(t, "chat.jsonl.gz", func(line []byte) {
		var c struct {
			F    string `json:"f"`
			Vars struct {
				Messages            json.RawMessage   `json:"messages"`
				Tools               []json.RawMessage `json:"tools"`
				AddGenerationPrompt bool              `json:"add_generation_prompt"`
				EnableThinking      *bool             `json:"enable_thinking"`
				OpenThinking        *bool             `json:"open_thinking"`
			} `json:"vars"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		tok := toks[c.F]
		opts := ChatOptions{AddGenerationPrompt: c.Vars.AddGenerationPrompt, Vars: map[string]any{}}
		if c.Vars.Tools != nil {
			for _, tl := range c.Vars.Tools {
				opts.Tools = append(opts.Tools, tl)
			}
		}
		if c.Vars.EnableThinking != nil {
			opts.Vars["enable_thinking"] = *c.Vars.EnableThinking
		}
		if c.Vars.OpenThinking != nil {
			opts.Vars["open_thinking"] = *c.Vars.OpenThinking
		}
		check := func(path, got string, err error) {
			counts[path]++
			if err != nil {
				t.Errorf("%s %s: %v", path, c.Vars.Messages, err)
			} else if got != c.Text {
				t.Errorf("%s %s:\n got %q\nwant %q", path, c.Vars.Messages, got, c.Text)
			}
		}
		got, err := tok.ApplyChatTemplateJSON(c.Vars.Messages, opts)
		check("json", got, err)

		var generic []map[string]any
		if err := json.Unmarshal(c.Vars.Messages, &generic); err != nil {
			t.Fatal(err)
		}
		if msgs, ok := asMessages(generic, c.Vars.Messages); ok {
			got, err := tok.ApplyChatTemplate(msgs, opts)
			check("messages", got, err)
		}
		if c.Vars.Tools == nil && !bytes.Contains(c.Vars.Messages, []byte("tool_calls")) {
			got, err := tok.ApplyChatTemplateMaps(generic, opts)
			check("maps", got, err)
		}
	})
	if counts["json"] < 200 || counts["messages"] < 50 || counts["maps"] < 50 {
		t.Errorf("too few conversations checked: %v", counts)
	}
}

// asMessages converts generic messages to Message values when nothing is
// lost: content is a string, reasoning_content is absent or a non-empty
// string, and there are no other keys.
func asMessages(generic []map[string]any, raw json.RawMessage) ([]Message, bool) {
	var raws []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		return nil, false
	}
	out := make([]Message, len(generic))
	for i, m := range generic {
		for k := range m {
			switch k {
			case "role", "content", "reasoning_content", "tool_calls":
			default:
				return nil, false
			}
		}
		role, ok1 := m["role"].(string)
		content, ok2 := m["content"].(string)
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i] = Message{Role: role, Content: content, ToolCalls: raws[i]["tool_calls"]}
		if rc, ok := m["reasoning_content"]; ok {
			s, isStr := rc.(string)
			if !isStr || s == "" {
				return nil, false
			}
			out[i].ReasoningContent = s
		}
	}
	return out, true
}

// TestApplyChatTemplateErrors checks the errors of a tokenizer without a
// template and of a broken template.
func TestApplyChatTemplateErrors(t *testing.T) {
	t2 := loadFixture(t, "minimind2")
	msgs := []Message{{Role: "user", Content: "hi"}}
	if _, err := t2.ApplyChatTemplate(msgs, ChatOptions{}); err != nil {
		t.Fatal(err)
	}
	c := *t2.Config()
	c.ChatTemplate = "{% if %}"
	t2.SetConfig(&c)
	if _, err := t2.ApplyChatTemplate(msgs, ChatOptions{}); err == nil || !strings.Contains(err.Error(), "chat_template") {
		t.Errorf("broken template: %v", err)
	}
	t2.SetConfig(nil)
	if _, err := t2.ApplyChatTemplate(msgs, ChatOptions{}); err == nil {
		t.Error("no template: no error")
	}
	c.ChatTemplate = "{{ raise_exception('no system role') }}"
	t2.SetConfig(&c)
	if _, err := t2.ApplyChatTemplate(msgs, ChatOptions{}); err == nil || !strings.Contains(err.Error(), "no system role") {
		t.Errorf("raise_exception: %v", err)
	}
}
