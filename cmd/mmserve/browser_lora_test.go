//go:build !js

package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/site"
	"github.com/minimind-go/minimind/tokenizer"
)

// writeTestAdapters writes rank-4 adapters with non-zero B on the q_proj and
// down_proj layers of preset (base name base: base.safetensors, base.pth,
// base_peft/) scaled by alpha/r.
func writeTestAdapters(t testing.TB, preset string, alpha float64) string {
	t.Helper()
	cfg, err := model.Preset(preset)
	require.NoError(t, err)
	mods, err := model.LoRAModules(cfg, []string{"q_proj", "down_proj"})
	require.NoError(t, err)
	w := model.InitWeights(cfg, 1)
	a := &checkpoint.Adapters{Rank: 4, Alpha: alpha, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	for i, m := range mods {
		var in, out int
		for _, p := range cfg.Params(w) {
			if p.Name == m+".weight" {
				out, in = p.Shape[0], p.Shape[1]
			}
		}
		A, B := make([]float32, 4*in), make([]float32, out*4) // [r, in], [out, r]
		for j := range A {
			A[j] = float32((i+j)%5-2) * 0.05
		}
		for j := range B {
			B[j] = float32((i+2*j)%7-3) * 0.1
		}
		a.Tensors[m+".lora.A.weight"], a.Shapes[m+".lora.A.weight"] = A, []int{4, in}
		a.Tensors[m+".lora.B.weight"], a.Shapes[m+".lora.B.weight"] = B, []int{out, 4}
	}
	base := filepath.Join(t.TempDir(), "lora_test")
	require.NoError(t, checkpoint.SaveAdapters(base, a))
	return base
}

// nativeLoRAReply is mmchat --lora's greedy reply: the native CPU engine
// with the adapters at lora applied without merging (chat.Bot.ApplyLoRA).
func nativeLoRAReply(t testing.TB, dir, lora string, msgs []tokenizer.Message, maxTokens int) ([]int32, string) {
	t.Helper()
	cfg, w, err := checkpoint.Load(dir)
	require.NoError(t, err)
	m, err := model.New(cfg, cpu.New(0), w)
	require.NoError(t, err)
	tok, err := tokenizer.Load(dir)
	require.NoError(t, err)
	bot, err := chat.New(m, tok)
	require.NoError(t, err)
	n, err := bot.ApplyLoRA(lora)
	require.NoError(t, err)
	require.Positive(t, n)
	text, err := tok.ApplyChatTemplate(msgs, tokenizer.ChatOptions{AddGenerationPrompt: true})
	require.NoError(t, err)
	out, err := m.Generate(context.Background(), tok.Encode(text), model.GenerateOptions{MaxTokens: maxTokens, StopTokens: bot.Stop})
	require.NoError(t, err)
	return out, tok.DecodeSkipSpecial(out)
}

// TestBrowserLoRA serves a model with --lora's adapters beside it: the
// page shows that adapters are applied, and its greedy reply equals mmchat
// --lora's (native CPU engine, adapters unmerged) token for token and
// differs from the base model's, on the CPU engine and on WebGPU
// (SwiftShader).
func TestBrowserLoRA(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser tests take about 35 s (plus the runtime's build)")
	}
	path := chromium(t)
	rt, err := testRuntime()
	require.NoError(t, err)
	modelDir := writeTestModel(t, "tiny", "minimind2", 5)
	lora := writeTestAdapters(t, "tiny", 8) + ".safetensors"
	served, cleanup, err := withAdapters(os.DirFS(modelDir), lora)
	require.NoError(t, err)
	t.Cleanup(cleanup)
	srv, err := newServer(serverOptions{Site: site.FS(), Wasm: rt.Wasm, WasmExec: rt.Exec, Model: served, ModelName: "tiny test model + LoRA"})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	prompt := []tokenizer.Message{{Role: "user", Content: "Hello! Who are you?"}}
	want, wantText := nativeLoRAReply(t, modelDir, lora, prompt, 40)
	base, _ := nativeReply(t, modelDir, prompt, 40, nil)
	require.GreaterOrEqual(t, len(want), 5, "the reference reply is too short to compare")
	require.NotEqual(t, base, want, "the adapters do not change the native reply")

	for _, tc := range []struct{ name, engine, badge string }{{"cpu", "cpu", "CPU · wasm"}, {"webgpu", "auto", "WebGPU"}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "webgpu" && !rt.WebGPU {
				t.Skipf("the runtime has no WebGPU engine (%s)", rt.Built)
			}
			logs := &pageLog{}
			ctx := browser(t, path, true, logs)
			do(t, ctx, logs, 30*time.Second, chromedp.Navigate(ts.URL+"/?engine="+tc.engine+"&temperature=0&maxTokens=40&system="))
			waitState(t, ctx, logs, 120*time.Second, "ready")
			require.Equal(t, tc.badge, eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("engine").textContent`))
			require.False(t, eval[bool](t, ctx, logs, 5*time.Second, `document.getElementById("lora").hidden`), "the LoRA badge is hidden")
			require.Contains(t, eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("model-details").textContent`),
				"LoRA adapters applied (not merged): 4 layers, rank 4, alpha 8")
			do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), prompt[0].Content), enter(false))
			ids, text := lastReply(t, ctx, logs)
			if !slices.Equal(ids, want) || text != wantText {
				t.Fatalf("%s reply %v %q\nmmchat --lora  %v %q", tc.name, ids, text, want, wantText)
			}
			t.Logf("%s greedy reply with adapters (%d tokens) equals mmchat --lora's and differs from the base model's", tc.name, len(ids))
		})
	}
	// A folder dropped on the page with PEFT's adapter files beside the
	// model gets them applied too.
	t.Run("dropped-folder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "with-lora")
		require.NoError(t, os.CopyFS(dir, served))
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(serve(t, rt, "")+"/?engine=cpu&temperature=0&maxTokens=40&system="))
		waitState(t, ctx, logs, 60*time.Second, "choose")
		do(t, ctx, logs, 10*time.Second, drop(dir))
		waitState(t, ctx, logs, 60*time.Second, "ready")
		require.False(t, eval[bool](t, ctx, logs, 5*time.Second, `document.getElementById("lora").hidden`), "the LoRA badge is hidden")
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), prompt[0].Content), enter(false))
		ids, text := lastReply(t, ctx, logs)
		if !slices.Equal(ids, want) || text != wantText {
			t.Fatalf("dropped folder's reply %v %q\nmmchat --lora  %v %q", ids, text, want, wantText)
		}
	})
}
