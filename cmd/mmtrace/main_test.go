package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
)

// traceJSON is the part of mmtrace's output the tests read.
type traceJSON struct {
	Tokens []int32 `json:"tokens"`
	Config struct {
		Hidden int `json:"hidden_size"`
	} `json:"config"`
	Steps []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"steps"`
}

func TestRun(t *testing.T) {
	c, err := model.Preset("tiny")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, checkpoint.Save(dir, c, model.InitWeights(c, 5), checkpoint.SaveOptions{}))

	tests := []struct {
		name       string
		args       []string
		wantTokens []int32
		wantHidden int
	}{
		// From an empty folder with no ./out: the embedded MiniMind-Zero
		// model and its tokenizer (hidden size 192).
		{"embedded model, text", []string{"--text", "Hello, world"}, []int32{42, 491, 81, 14, 1794}, 192},
		{"embedded model, ids", []string{"--ids", "1,2,3"}, []int32{1, 2, 3}, 192},
		{"model folder, ids", []string{"--model", dir, "--ids", "5 6"}, []int32{5, 6}, c.Hidden},
		{"safetensors file, ids", []string{"--model", filepath.Join(dir, checkpoint.SafetensorsFile), "--ids", "7"}, []int32{7}, c.Hidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var out bytes.Buffer
			require.NoError(t, run(tt.args, &out))
			var tr traceJSON
			require.NoError(t, json.Unmarshal(out.Bytes(), &tr))
			assert.Equal(t, tt.wantTokens, tr.Tokens)
			assert.Equal(t, tt.wantHidden, tr.Config.Hidden)
			require.NotEmpty(t, tr.Steps)
			last := tr.Steps[len(tr.Steps)-1]
			assert.Equal(t, "logits", last.Name)
			assert.Equal(t, len(tt.wantTokens), last.Shape[0])
		})
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no tokens", nil, "--ids or --text"},
		{"both", []string{"--ids", "1", "--text", "a"}, "--ids or --text"},
		{"bad id", []string{"--ids", "1,x"}, `"x" is not a token id`},
		{"missing model", []string{"--model", "/nonexistent/model", "--ids", "1"}, "/nonexistent/model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			var out bytes.Buffer
			err := run(tt.args, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
