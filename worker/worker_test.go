//go:build !js

package main

import (
	"bufio"
	"context"
	"encoding/json"
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

// TestWorkerd builds the Worker (the Go wasm and syumai/workers' glue),
// runs it in workerd on loopback with the committed config, and checks that
// a greedy streaming request answers what mmchat answers (chat.Bot.Generate
// on the same embedded model) for the same prompt.
func TestWorkerd(t *testing.T) {
	bin := workerdPath(t)
	dir := t.TempDir()
	build := filepath.Join(dir, "build")
	run := func(env []string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v: %s", name, args, out)
	}
	run(nil, "go", "run", "github.com/syumai/workers/cmd/workers-assets-gen", "-mode=go", "-o", build)
	run([]string{"GOOS=js", "GOARCH=wasm"}, "go", "build", "-o", filepath.Join(build, "app.wasm"), ".")
	cfg, err := os.ReadFile("workerd.capnp")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "workerd.capnp"), cfg, 0o644))
	st, err := os.Stat(filepath.Join(build, "app.wasm"))
	require.NoError(t, err)
	t.Logf("app.wasm: %.1f MB", float64(st.Size())/1e6)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var logs strings.Builder
	cmd := exec.CommandContext(ctx, bin, "serve", filepath.Join(dir, "workerd.capnp"), "--socket-addr", "http="+addr)
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

	fsys, err := zoo.Default()
	require.NoError(t, err)
	bot, err := chat.LoadFS(fsys, cpu.New(1))
	require.NoError(t, err)
	want, err := bot.Generate(context.Background(), []tokenizer.Message{{Role: "user", Content: prompt}},
		chat.Options{MaxTokens: maxTokens, Sample: model.SampleOptions{Temperature: 0}}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, want.Text)
	assert.Equal(t, want.Text, content.String())
	t.Logf("workerd answered %q", content.String())
}
