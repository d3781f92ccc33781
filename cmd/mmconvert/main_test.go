package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerbs(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		files []string
	}{
		{[]string{"gguf", "--out", filepath.Join(dir, "zero.gguf"), "--type", "q8_0"}, []string{"zero.gguf", "Modelfile"}},
		{[]string{"hf", "--out", filepath.Join(dir, "hf")}, []string{"hf/config.json", "hf/model.safetensors", "hf/generation_config.json", "hf/tokenizer.json"}},
		{[]string{"pth", "--out", filepath.Join(dir, "zero.pth")}, []string{"zero.pth"}},
		// and back: a GGUF is a source too
		{[]string{"hf", "--model", filepath.Join(dir, "zero.gguf"), "--out", filepath.Join(dir, "hf2"), "--dtype", "f32"}, []string{"hf2/config.json"}},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.NoError(t, run(tc.args, &stdout, &stderr), stderr.String())
			assert.Contains(t, stderr.String(), "MiniMind minimind2, 2.8M parameters")
			for _, f := range tc.files {
				assert.FileExists(t, filepath.Join(dir, f))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.ErrorContains(t, run(nil, &stdout, &stderr), "no verb")
	assert.ErrorContains(t, run([]string{"onnx"}, &stdout, &stderr), "unknown verb")
	assert.ErrorContains(t, run([]string{"gguf"}, &stdout, &stderr), "--out")
	assert.ErrorContains(t, run([]string{"gguf", "--out", filepath.Join(t.TempDir(), "x.gguf"), "--type", "q5_k"}, &stdout, &stderr), "q5_k")
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	require.NoError(t, os.WriteFile(bad, []byte("GGUF\x03\x00\x00\x00"), 0o644))
	assert.ErrorContains(t, run([]string{"pth", "--model", bad, "--out", filepath.Join(t.TempDir(), "x.pth")}, &stdout, &stderr), "bad.gguf")
}
