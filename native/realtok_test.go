package native

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/minimind-go/minimind/tokenizer"
)

func loadFixtureTokenizer(t *testing.T, name string) *tokenizer.Tokenizer {
	t.Helper()
	dir := filepath.Join("..", "testdata", "minimind", name)
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatalf("MiniMind tokenizer fixture missing (testdata/minimind in the repository): %v", err)
	}
	tk, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestSFTMaskRealTokenizer renders SFT lines with MiniMind's real
// tokenizers and chat templates and checks that exactly the assistant
// replies (with minimind3's think block) and their "<|im_end|>\n" carry
// labels.
func TestSFTMaskRealTokenizer(t *testing.T) {
	conv := `{"conversations":[{"role":"user","content":"你好，介绍一下自己。"},` +
		`{"role":"assistant","content":"我是MiniMind，一个小模型。"},{"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"It is 4."}]}`
	tool := `{"conversations":[{"role":"system","content":"s","functions":[{"name":"add","parameters":{"b":1,"a":2}}]},` +
		`{"role":"user","content":"1+2?"},{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"add","arguments":{"x":1,"a":2}}}]},` +
		`{"role":"tool","content":"3"},{"role":"assistant","content":"3"}]}`
	for _, tc := range []struct {
		name, fixture, line, labelled string
	}{
		{"minimind2", "minimind2", conv, "我是MiniMind，一个小模型。<|im_end|>\nIt is 4.<|im_end|>\n"},
		{"minimind3", "minimind3", conv, "<think>\n\n</think>\n\n我是MiniMind，一个小模型。<|im_end|>\n<think>\n\n</think>\n\nIt is 4.<|im_end|>\n"},
		{"minimind2 tools", "minimind2", tool, "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"x\": 1, \"a\": 2}}\n</tool_call><|im_end|>\n3<|im_end|>\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk := loadFixtureTokenizer(t, tc.fixture)
			p, err := NewProcessor(testDataConfig(SFT, 1024), FromTokenizer(tk))
			if err != nil {
				t.Fatal(err)
			}
			if tk.Decode(p.start) != "<|im_start|>assistant\n" || tk.Decode(p.end) != "<|im_end|>\n" {
				t.Errorf("markers %v and %v", p.start, p.end)
			}
			doc, err := p.Process([]byte(tc.line), 1)
			if err != nil {
				t.Fatal(err)
			}
			var labelled []int32
			for i, id := range doc.Tokens {
				if doc.Labelled(i) {
					labelled = append(labelled, id)
				}
			}
			if got := tk.Decode(labelled); got != tc.labelled {
				t.Errorf("labelled text %q\nwant %q\nwhole sample %q", got, tc.labelled, tk.Decode(doc.Tokens))
			}
		})
	}
}
