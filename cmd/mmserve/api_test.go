package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunServesAPI starts mmserve with a model and an API key and talks to
// /v1/ with the OpenAI SDK on the site's port.
func TestRunServesAPI(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "minimind.wasm")
	execJS := filepath.Join(dir, "wasm_exec.js")
	require.NoError(t, os.WriteFile(wasm, fakeRuntime.Wasm, 0o644))
	require.NoError(t, os.WriteFile(execJS, fakeRuntime.Exec, 0o644))
	modelDir := writeTestModel(t, "tiny", "minimind3", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	var logs bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"--addr", "127.0.0.1:0", "--model", modelDir, "--wasm", wasm, "--wasm-exec", execJS,
			"--api-key", "sesame", "--api-model", "tiny", "--max-tokens", "8", "--threads", "1"}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	resp, err := http.Get("http://" + addr + "/v1/models")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	c := openai.NewClient(option.WithBaseURL("http://"+addr+"/v1/"), option.WithAPIKey("sesame"), option.WithMaxRetries(0))
	page, err := c.Models.List(ctx)
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	assert.Equal(t, "tiny", page.Data[0].ID)
	r, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "tiny", Temperature: openai.Float(0),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	require.NoError(t, err)
	assert.Equal(t, "length", r.Choices[0].FinishReason)
	assert.Equal(t, int64(8), r.Usage.CompletionTokens)
	// The site is still there.
	resp, body := get(t, "http://"+addr+"/models/default/manifest.json", nil)
	assert.Equal(t, 200, resp.StatusCode, string(body))
	cancel()
	require.NoError(t, <-errc)
	assert.NotContains(t, logs.String(), "warning")
}

func TestExposedWarning(t *testing.T) {
	for _, tc := range []struct {
		addr, key string
		warn      bool
	}{
		{"127.0.0.1:8998", "", false},
		{"[::1]:8998", "", false},
		{"localhost:8998", "", false},
		{":8998", "", true},
		{"0.0.0.0:8998", "", true},
		{"192.168.1.5:8998", "", true},
		{"0.0.0.0:8998", "k", false},
	} {
		t.Run(tc.addr+tc.key, func(t *testing.T) {
			w := exposedWarning(tc.addr, tc.key)
			assert.Equal(t, tc.warn, strings.Contains(w, "without --api-key"), w)
		})
	}
}
