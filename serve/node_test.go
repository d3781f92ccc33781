package serve_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/serve"
)

// TestNodeOpenAISDK runs tools/apiclient/check.mjs, which talks to three
// servers with the official openai npm package: plain answers (streamed and
// not, usage, max_tokens), thinking (reasoning_content) and tool calls, and
// errors. It needs node and `npm ci` in tools/apiclient; it skips without
// them unless MINIMIND_REQUIRE_OPENAI_NODE=1 (set by CI).
func TestNodeOpenAISDK(t *testing.T) {
	dir := filepath.Join("..", "tools", "apiclient")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json"))
	if err != nil || modErr != nil {
		if os.Getenv("MINIMIND_REQUIRE_OPENAI_NODE") != "" {
			t.Fatalf("node (%v) and the openai package (%v) are required: run npm ci in tools/apiclient", err, modErr)
		}
		t.Skip("needs node and `npm ci` in tools/apiclient (MINIMIND_REQUIRE_OPENAI_NODE=1 makes this an error)")
	}
	const reply = "Hello there, friend!"
	plain, _, _ := scripted(t, reply, serve.Options{})
	think, _, _ := scripted(t, "Two plus two.\n</think>\n\nIt is 4.", serve.Options{})
	tools, _, _ := scripted(t, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", serve.Options{})
	cfg, err := json.Marshal(map[string]any{
		"model": modelID,
		"plain": map[string]any{"url": plain.URL + "/v1", "reply": reply},
		"think": map[string]any{"url": think.URL + "/v1", "reasoning": "Two plus two.", "content": "It is 4."},
		"tools": map[string]any{"url": tools.URL + "/v1", "name": "get_weather", "arguments": map[string]any{"city": "Paris"}},
	})
	require.NoError(t, err)
	cmd := exec.Command(node, "check.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MINIMIND_API_CHECK="+string(cfg))
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err)
	require.Contains(t, string(out), "all 7 checks passed")
}
