package serve_test

import (
	"strings"
	"testing"

	"github.com/minimind-go/minimind/serve"
)

// FuzzDecodeRequest feeds arbitrary bodies to the request decoder: it never
// panics, and what it accepts is within the documented bounds.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"minimind","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"a"}]},{"role":"user","content":"b"}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"r","tool_call_id":"c"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":5,"temperature":0,"top_p":0.5,"top_k":3,"seed":-1,"stop":["a","b"],"chat_template_kwargs":{"enable_thinking":true}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":1e3,"stop":"s","n":1,"open_thinking":true}`,
		`[]`, `{"model":1}`, `{"messages":{}}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 100
		r, err := serve.DecodeRequest(body, limit)
		if err != nil {
			if err.Status != 400 || err.Type == "" || err.Message == "" {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		switch {
		case r.Model == "" || len(r.Messages) == 0:
			t.Fatalf("accepted without model or messages: %+v", r)
		case r.MaxTokens < 0 || r.MaxTokens > limit:
			t.Fatalf("max tokens %d", r.MaxTokens)
		case r.Temperature < 0 || r.Temperature > 2 || r.TopP <= 0 || r.TopP > 1 || r.TopK < 0:
			t.Fatalf("sampling %+v", r)
		case len(r.Stop) > 4:
			t.Fatalf("stops %q", r.Stop)
		}
		for _, m := range r.Messages {
			if !strings.Contains(" system user assistant tool ", " "+m.Role+" ") {
				t.Fatalf("role %q", m.Role)
			}
		}
		if r.ToolChoice == "function" && r.ToolName == "" {
			t.Fatal("named tool choice without a name")
		}
	})
}

// FuzzOutput pushes arbitrary text through the reply parser token by token:
// it never panics, and without stop sequences, tools or think tags the
// content is the decoded text.
func FuzzOutput(f *testing.F) {
	tok := loadTokenizer(f)
	f.Add("plain answer", false, false, "")
	f.Add("reasoning\n</think>\n\nanswer", true, false, "")
	f.Add("<think>r</think>a<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call>", false, true, "a")
	f.Add("<tool_call>{broken</tool_call> 你好", false, true, "好")
	f.Fuzz(func(t *testing.T, text string, thinking, tools bool, stop string) {
		var stops []string
		if stop != "" {
			stops = []string{stop}
		}
		o := serve.NewOutput(tok, stops, thinking, tools)
		var content strings.Builder
		collect := func(ds []serve.Delta) {
			for _, d := range ds {
				content.WriteString(d.Content)
			}
		}
		ids := tok.Encode(text)
		for _, id := range ids {
			collect(o.Push(id))
		}
		collect(o.Finish())
		if stop == "" && !thinking && !tools && !strings.Contains(text, "<think>") && !strings.Contains(text, "<") {
			if want := tok.DecodeSkipSpecial(ids); content.String() != want {
				t.Fatalf("content %q, want %q", content.String(), want)
			}
		}
	})
}
