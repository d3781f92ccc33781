package jinja

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// readCases reads a gzip-compressed jsonl file of the tokenizer package's
// testdata.
func readCases(t *testing.T, name string, fn func(line []byte)) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			fn(sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// rawVars splits a JSON object of variables into json.RawMessage values, so
// that key order is kept.
func rawVars(t *testing.T, data json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	vars := make(map[string]any, len(m))
	for k, v := range m {
		vars[k] = v
	}
	return vars
}

// TestCasesGolden renders small templates over the language's features and
// compares with @huggingface/jinja (testdata/jinja_cases.jsonl.gz).
func TestCasesGolden(t *testing.T) {
	n := 0
	readCases(t, "jinja_cases.jsonl.gz", func(line []byte) {
		var c struct {
			Tpl   string          `json:"tpl"`
			Vars  json.RawMessage `json:"vars"`
			Text  *string         `json:"text"`
			Error bool            `json:"error"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		n++
		tpl, err := Parse(c.Tpl)
		var got string
		if err == nil {
			got, err = tpl.Render(rawVars(t, c.Vars))
		}
		switch {
		case c.Error && err == nil:
			t.Errorf("%q: rendered %q, want an error", c.Tpl, got)
		case !c.Error && err != nil:
			t.Errorf("%q: %v", c.Tpl, err)
		case !c.Error && got != *c.Text:
			t.Errorf("%q:\n got %q\nwant %q", c.Tpl, got, *c.Text)
		}
	})
	if n < 40 {
		t.Errorf("only %d cases", n)
	}
}

// TestChatTemplatesGolden renders the conversations of
// testdata/chat.jsonl.gz with the chat templates of MiniMind's two
// tokenizers and compares with @huggingface/jinja.
func TestChatTemplatesGolden(t *testing.T) {
	templates := map[string]*Template{}
	for key, dir := range map[string]string{"m2": "minimind2", "m3": "minimind3"} {
		p := filepath.Join("..", "..", "testdata", "minimind", dir, "tokenizer_config.json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("fixture %s missing: %v", p, err)
		}
		var cfg struct {
			ChatTemplate string `json:"chat_template"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatal(err)
		}
		if templates[key], err = Parse(cfg.ChatTemplate); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
	}
	n, bad := 0, 0
	readCases(t, "chat.jsonl.gz", func(line []byte) {
		var c struct {
			F    string          `json:"f"`
			Vars json.RawMessage `json:"vars"`
			Text string          `json:"text"`
		}
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		n++
		got, err := templates[c.F].Render(rawVars(t, c.Vars))
		if err != nil {
			t.Errorf("%s %s: %v", c.F, c.Vars, err)
			return
		}
		if got != c.Text {
			if bad++; bad <= 3 {
				t.Errorf("%s %s:\n got %q\nwant %q", c.F, c.Vars, got, c.Text)
			}
		}
	})
	if bad > 0 {
		t.Errorf("%d of %d conversations differ", bad, n)
	}
	if n < 100 {
		t.Errorf("only %d conversations", n)
	}
}

// TestBinaryOperatorsGroupLeft pins the grouping of +, -, *, //, % and **:
// all left-associative, as in @huggingface/jinja (and Jinja2, whose ** is
// left-associative unlike Python's).
func TestBinaryOperatorsGroupLeft(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"{{ 10 - 3 - 2 }}", "5"},
		{"{{ 2 ** 3 ** 2 }}", "64"},
		{"{{ 100 // 10 // 5 }}", "2"},
		{"{{ 1 + 2 * 3 ** 2 }}", "19"},
		{"{{ 'a' ~ 'b' ~ 1 }}", "ab1"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			tpl, err := Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Render(nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s = %q, want %q", tc.src, got, tc.want)
			}
		})
	}
}
