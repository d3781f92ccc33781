package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fixture = filepath.Join("..", "..", "testdata", "minimind", "minimind2")

func needFixture(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(fixture); err != nil {
		t.Fatalf("fixture %s missing: %v", fixture, err)
	}
}

// mmtok runs the command with stdin and returns stdout, stderr and the
// exit status.
func mmtok(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestEncodeDecode(t *testing.T) {
	needFixture(t)
	tests := []struct {
		name, text string
	}{
		{"english", "Hello world"},
		{"chinese", "你好，世界！"},
		{"special", "<|im_start|>user\nhi<|im_end|>\n"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, stderr, code := mmtok(t, tt.text, "encode", "--tokenizer", fixture)
			if code != 0 {
				t.Fatalf("encode: status %d: %s", code, stderr)
			}
			if strings.Count(ids, "\n") != 1 {
				t.Errorf("encode printed %q, want one line", ids)
			}
			text, stderr, code := mmtok(t, ids, "decode", "--tokenizer", filepath.Join(fixture, "tokenizer.json"))
			if code != 0 {
				t.Fatalf("decode: status %d: %s", code, stderr)
			}
			if text != tt.text {
				t.Errorf("decode(encode(%q)) = %q", tt.text, text)
			}
		})
	}
	if out, _, _ := mmtok(t, "Hello world", "encode", "--tokenizer", fixture); out != "42 392 338 1636\n" {
		t.Errorf("encode of Hello world: %q", out)
	}
	if out, _, _ := mmtok(t, "[1, 42, 392, 338, 1636, 2]", "decode", "--tokenizer", fixture, "--skip-special"); out != "Hello world" {
		t.Errorf("decode --skip-special of a JSON list: %q", out)
	}
	out, _, code := mmtok(t, `{"text": "a b"}`+"\n"+`{"text": "你好"}`+"\n", "encode", "--tokenizer", fixture, "--jsonl")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, "[") {
		t.Errorf("encode --jsonl: %q", out)
	}
}

func TestChat(t *testing.T) {
	needFixture(t)
	want := "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
	tests := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"list", `[{"role": "user", "content": "hi"}]`, []string{"--add_generation_prompt"}, want},
		{"object", `{"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": true}`, nil, want},
		{"sft", `{"conversations": [{"role": "user", "content": "hi"}]}`, []string{"--add_generation_prompt"}, want},
		{"var", `[{"role": "user", "content": "hi"}]`, []string{"--add_generation_prompt", "--var", "enable_thinking=false"}, want + "<think>\n\n</think>\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"chat", "--tokenizer", fixture}, tt.args...)
			out, stderr, code := mmtok(t, tt.stdin, args...)
			if code != 0 {
				t.Fatalf("status %d: %s", code, stderr)
			}
			if out != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
	out, _, code := mmtok(t, `[{"role": "user", "content": "hi"}]`, "chat", "--tokenizer", fixture, "--ids")
	if code != 0 || !strings.HasPrefix(out, "1 ") {
		t.Errorf("chat --ids: %q", out)
	}
}

func TestTrain(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "corpus.jsonl")
	var b strings.Builder
	for i := 0; i < 200; i++ {
		b.WriteString(`{"text": "the quick brown fox jumps over the lazy dog 敏捷的棕色狐狸跳过了懒狗"}` + "\n")
		b.WriteString(`{"conversations": [{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "general kenobi"}]}` + "\n")
	}
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tok")
	stdout, stderr, code := mmtok(t, "", "train", "--data", data, "--out", out, "--vocab_size", "300")
	if code != 0 {
		t.Fatalf("status %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "trained 300 tokens") || !strings.Contains(stderr, "100%") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	ids, _, code := mmtok(t, "the quick brown fox", "encode", "--tokenizer", out)
	if code != 0 || len(strings.Fields(ids)) >= len("the quick brown fox") {
		t.Errorf("the trained tokenizer encodes to %q", ids)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		stdin   string
		code    int
		wantErr string
	}{
		{"no command", nil, "", 2, "Usage"},
		{"unknown command", []string{"frobnicate"}, "", 2, "unknown command"},
		{"missing tokenizer", []string{"encode", "--tokenizer", "/nonexistent/tok"}, "x", 1, "nonexistent"},
		{"bad flag", []string{"encode", "--nope"}, "", 2, "flag provided but not defined"},
		{"bad id", []string{"decode", "--tokenizer", fixture}, "1 2 x", 1, `id 3: "x"`},
		{"id out of range", []string{"decode", "--tokenizer", fixture}, "1 99999", 1, "outside the vocabulary"},
		{"bad chat", []string{"chat", "--tokenizer", fixture}, "hello", 1, "want a JSON array"},
		{"chat without messages", []string{"chat", "--tokenizer", fixture}, `{"x": 1}`, 1, "no \"messages\""},
		{"train without data", []string{"train", "--out", "x"}, "", 1, "--data and --out are required"},
		{"train missing file", []string{"train", "--data", "/nonexistent.jsonl", "--out", "x"}, "", 1, "nonexistent"},
		{"help", []string{"encode", "-h"}, "", 0, "Usage: mmtok encode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(strings.Join(tt.args, " "), fixture) {
				needFixture(t)
			}
			_, stderr, code := mmtok(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("status %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantErr)
			}
		})
	}
}

// TestEmbeddedTokenizerByDefault: without --tokenizer, mmtok uses the
// MiniMind-Zero tokenizer embedded in the binary, so it works from any folder.
func TestEmbeddedTokenizerByDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	ids, stderr, code := mmtok(t, "Hello, world", "encode")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "42 491 81 14 1794\n", ids, "the Zero tokenizer's ids (zoo/zero/tokenizer.json)")
	text, stderr, code := mmtok(t, ids, "decode")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "Hello, world", text)
}
