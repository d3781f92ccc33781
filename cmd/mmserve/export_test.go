//go:build !js

package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/site"
)

func TestExportFiles(t *testing.T) {
	modelDir := writeTestModel(t, "tiny", "minimind2", 1)
	dir := filepath.Join(t.TempDir(), "site")
	n, size, err := exportSite(dir, serverOptions{Site: site.FS(), Wasm: fakeRuntime.Wasm, WasmExec: fakeRuntime.Exec, Model: os.DirFS(modelDir), ModelName: "tiny"})
	require.NoError(t, err)
	for _, tc := range []struct{ name, want string }{
		{"index.html", `src="app.js"`},
		{"learn/index.html", `src="learn.js"`},
		{"learn/learn.js", `from "../minimind.js"`},
		{"minimind.js", "export class MiniMind"},
		{"minimind-worker.js", "importScripts"},
		{"wasm_exec.js", "wasm_exec"},
		{"minimind.wasm", "\x00asm"},
		{"models/default/manifest.json", `"name": "tiny"`},
		{"models/default/config.json", "hidden_size"},
		{"models/default/tokenizer.json", "merges"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.name))
			require.NoError(t, err)
			assert.Contains(t, string(data), tc.want)
		})
	}
	st, err := os.Stat(filepath.Join(dir, "models/default/model.safetensors"))
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(1000))
	assert.Greater(t, n, 12)
	assert.Greater(t, size, st.Size())

	// The run flag writes the same and exits.
	dir2 := t.TempDir()
	wasm := filepath.Join(t.TempDir(), "minimind.wasm")
	require.NoError(t, os.WriteFile(wasm, fakeRuntime.Wasm, 0o644))
	execJS := filepath.Join(t.TempDir(), "wasm_exec.js")
	require.NoError(t, os.WriteFile(execJS, fakeRuntime.Exec, 0o644))
	var log logBuffer
	require.NoError(t, run(context.Background(), []string{"--export", dir2, "--model", modelDir, "--wasm", wasm, "--wasm-exec", execJS}, &log, nil))
	assert.Contains(t, log.String(), "wrote")
	_, err = os.Stat(filepath.Join(dir2, "learn", "learn.js"))
	require.NoError(t, err)
}

// logBuffer collects run's log.
type logBuffer struct{ b []byte }

func (l *logBuffer) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }
func (l *logBuffer) String() string              { return string(l.b) }

// TestExportBrowser serves an exported site with a plain static file server
// (net/http's FileServer) and opens the tutorial in Chromium; then, offline,
// with the server stopped, runs another prompt: once loaded, the page needs no network.
func TestExportBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: browser test")
	}
	path := chromium(t)
	rt, err := testRuntime()
	require.NoError(t, err)
	modelDir := writeTestModel(t, "tiny", "minimind2", 2)
	dir := t.TempDir()
	_, _, err = exportSite(dir, serverOptions{Site: site.FS(), Wasm: rt.Wasm, WasmExec: rt.Exec, Model: os.DirFS(modelDir), ModelName: "tiny"})
	require.NoError(t, err)
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(ts.Close)

	logs := &pageLog{}
	ctx := browser(t, path, false, logs)
	do(t, ctx, logs, 30*time.Second, chromedp.Navigate(ts.URL+"/learn/?engine=cpu&prompt=Hi+there&chat=0"))
	eval[bool](t, ctx, logs, 120*time.Second, `window.minimindTutorial.ready.then(() => true)`)
	st := eval[learnState](t, ctx, logs, 10*time.Second, `window.minimindTutorial.goto("embed")`)
	require.Equal(t, "embed", st.Tensor.Name)
	ref := nativeWalk(t, os.DirFS(modelDir), st.Tokens.IDs)
	ns, _ := ref.Step("embed")
	assert.LessOrEqual(t, relErr(t, "embed", st.Tensor.Data, ns.Data), 1e-6)

	// Offline: with the server gone, a new prompt is traced and shown.
	ts.Close()
	st = eval[learnState](t, ctx, logs, 60*time.Second, `(async () => {
		document.getElementById("prompt").value = "Offline now";
		document.getElementById("chat-template").checked = false;
		document.getElementById("prompt-form").requestSubmit();
		for (let i = 0; i < 200 && window.minimindTutorial.state().prompt !== "Offline now"; i++) await new Promise(r => setTimeout(r, 50));
		return window.minimindTutorial.goto("attn_probs", {layer: 0});
	})()`)
	assert.Equal(t, "Offline now", st.Prompt)
	assert.Equal(t, "layers.0.attn_probs", st.Tensor.Name)

	// A prompt over the trace's limit is refused with a clear message; the
	// last walk stays on screen.
	banner := eval[string](t, ctx, logs, 60*time.Second, `(async () => {
		document.getElementById("prompt").value = "word ".repeat(300);
		document.getElementById("prompt-form").requestSubmit();
		for (let i = 0; i < 200 && document.getElementById("banner").hidden; i++) await new Promise(r => setTimeout(r, 50));
		return document.getElementById("banner").innerText; })()`)
	assert.Contains(t, banner, "at most 128")
	st = eval[learnState](t, ctx, logs, 30*time.Second, `window.minimindTutorial.goto("residual")`)
	assert.Equal(t, "Offline now", st.Prompt)
	assert.Equal(t, "resid_norms", st.Tensor.Name, "steps not fetched before are still served")
	assert.Empty(t, consoleProblems(logs))
}
