//go:build !js

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// workerdPath finds the workerd binary: $MINIMIND_WORKERD, else the npm
// package in tools/workerd (npm ci there).
func workerdPath(t *testing.T) string {
	p := os.Getenv("MINIMIND_WORKERD")
	if p == "" {
		p = filepath.Join("..", "tools", "workerd", "node_modules", ".bin", "workerd")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("MINIMIND_REQUIRE_WORKERD") != "" {
			t.Fatalf("workerd is required: %v (npm ci in tools/workerd)", err)
		}
		t.Skip("needs workerd: npm ci in tools/workerd (MINIMIND_REQUIRE_WORKERD=1 makes this an error)")
	}
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}

// TestWorkerd builds the Worker (the Go wasm and syumai/workers' glue) and
// the exported site (mmserve --export: chat, tutorial, runtime, the embedded
// Zero model), runs them in workerd on loopback with the committed config,
// and checks that
//   - a greedy streaming request to /v1/chat/completions answers what mmchat
//     answers (chat.Bot.Generate on the same embedded model) for the same prompt;
//   - the chat page, the tutorial, the runtime and every file of the model come
//     through workerd byte for byte, with their content types;
//   - the chat, opened from workerd in headless Chromium (when it is there),
//     answers the same greedy reply in the page, and the tutorial at /learn/
//     walks the prompt's tokens.
func TestWorkerd(t *testing.T) {
	bin := workerdPath(t)
	dir := t.TempDir()
	build, siteDir := filepath.Join(dir, "build"), filepath.Join(dir, "site")
	run := func(env []string, name string, args ...string) string {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v: %s", name, args, out)
		return string(out)
	}
	run(nil, "go", "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", build)
	run([]string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-o", filepath.Join(build, "app.wasm"), ".")
	out := run(nil, "go", "run", "../cmd/mmserve", "--export", siteDir)
	require.Contains(t, out, "wrote")
	for _, name := range []string{"workerd.capnp", "assets.mjs"} {
		data, err := os.ReadFile(name)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	st, err := os.Stat(filepath.Join(build, "app.wasm"))
	require.NoError(t, err)
	t.Logf("app.wasm: %.1f MB", float64(st.Size())/1e6)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var logs strings.Builder
	cmd := exec.CommandContext(ctx, bin, "serve", filepath.Join(dir, "workerd.capnp"), "--socket-addr", "http="+addr,
		"--directory-path", "site="+siteDir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	defer func() {
		cancel()
		cmd.Wait()
	}()
	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/v1/models")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, time.Minute, 100*time.Millisecond, "workerd did not answer: %s", &logs)

	const prompt, maxTokens = "Hello, who are you?", 40
	fsys, err := zoo.Default()
	require.NoError(t, err)
	bot, err := chat.LoadFS(fsys, cpu.New(1))
	require.NoError(t, err)
	want, err := bot.Generate(context.Background(), []tokenizer.Message{{Role: "user", Content: prompt}},
		chat.Options{MaxTokens: maxTokens, Sample: model.SampleOptions{Temperature: 0}}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, want.Text)
	for _, name := range []string{"config.json", "model.safetensors"} { // the exported model is the embedded one
		embedded, err := fs.ReadFile(fsys, name)
		require.NoError(t, err)
		exported, err := os.ReadFile(filepath.Join(siteDir, "models", "default", name))
		require.NoError(t, err)
		require.True(t, bytes.Equal(embedded, exported), "models/default/%s is not the embedded Zero model's", name)
	}

	t.Run("api", func(t *testing.T) {
		got := streamChat(t, base, prompt, maxTokens)
		assert.Equal(t, want.Text, got)
		t.Logf("workerd answered %q", got)
	})

	t.Run("site", func(t *testing.T) {
		for _, tc := range []struct{ path, file, typ string }{
			{"/", "index.html", "text/html"},
			{"/learn/", "learn/index.html", "text/html"},
			{"/app.js", "app.js", "text/javascript"},
			{"/minimind.js", "minimind.js", "text/javascript"},
			{"/minimind-worker.js", "minimind-worker.js", "text/javascript"},
			{"/wasm_exec.js", "wasm_exec.js", "text/javascript"},
			{"/minimind.wasm", "minimind.wasm", "application/wasm"},
			{"/models/default/manifest.json", "models/default/manifest.json", "application/json"},
			{"/models/default/config.json", "models/default/config.json", "application/json"},
			{"/models/default/tokenizer.json", "models/default/tokenizer.json", "application/json"},
			{"/models/default/model.safetensors", "models/default/model.safetensors", "application/octet-stream"},
		} {
			t.Run(tc.file, func(t *testing.T) {
				wantData, err := os.ReadFile(filepath.Join(siteDir, tc.file))
				require.NoError(t, err)
				resp, err := http.Get(base + tc.path)
				require.NoError(t, err)
				defer resp.Body.Close()
				data, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.Equal(t, 200, resp.StatusCode, "%s", data)
				assert.Contains(t, resp.Header.Get("Content-Type"), tc.typ)
				assert.True(t, bytes.Equal(wantData, data), "%s: %d bytes through workerd, %d on disk", tc.path, len(data), len(wantData))
				if len(data) > 1<<20 {
					t.Logf("%s: %.1f MB (asset limit 25 MiB)", tc.path, float64(len(data))/1e6)
				}
			})
		}
		resp, err := http.Get(base + "/no-such-file.js")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 404, resp.StatusCode)
		// A folder without its slash redirects, as Cloudflare's assets do.
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noRedirect.Get(base + "/learn?step=embed")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 307, resp.StatusCode)
		assert.Equal(t, base+"/learn/?step=embed", resp.Header.Get("Location"))
	})

	t.Run("browser", func(t *testing.T) {
		got := browserChat(t, base, prompt, maxTokens)
		assert.Equal(t, want.Text, got, "the page's greedy reply equals mmchat's")
	})

	t.Run("tutorial", func(t *testing.T) {
		ids, tensor := browserLearn(t, base, prompt)
		assert.Equal(t, "embed", tensor)
		assert.Equal(t, bot.Tok.Encode(prompt), ids, "the tutorial's tokens of the prompt")
	})
}

// streamChat sends a greedy streaming request and returns the joined
// content deltas, checking the stream's shape.
func streamChat(t *testing.T, base, prompt string, maxTokens int) string {
	body, _ := json.Marshal(map[string]any{"model": "minimind-zero", "stream": true, "temperature": 0, "max_tokens": maxTokens,
		"messages": []map[string]any{{"role": "user", "content": prompt}}})
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	var content strings.Builder
	chunks, done := 0, false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			break
		}
		var ch struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &ch), line)
		chunks++
		for _, c := range ch.Choices {
			content.WriteString(c.Delta.Content)
		}
	}
	require.NoError(t, sc.Err())
	assert.True(t, done, "[DONE]")
	assert.Greater(t, chunks, 3)
	return content.String()
}
