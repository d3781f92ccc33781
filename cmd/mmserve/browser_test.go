//go:build !js

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/site"
	"github.com/minimind-go/minimind/tokenizer"
)

// The browser tests drive Debian's Chromium, headless, through the DevTools
// protocol: they load the chat page served by this package's handler with a
// runtime built from this checkout, chat, and compare the greedy reply with
// the native CPU engine's. WebGPU runs on SwiftShader (Chromium's CPU
// implementation of Vulkan).
//
// Environment:
//
//	MINIMIND_REQUIRE_BROWSER=1   fail instead of skipping when Chromium is absent (CI)
//	MINIMIND_CHROMIUM=path       the browser to use (default: chromium on PATH)
//	MINIMIND_SCREENSHOT_DIR=dir  keep the screenshots there (default: a temp dir)
//	MINIMIND_BROWSER_BENCH=1     also measure load time, time to first token and
//	                             decode speed on the "zero" preset (TestBrowserBench)

// chromium returns the browser's path, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MINIMIND_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MINIMIND_REQUIRE_BROWSER") == "1" {
		t.Fatal("Chromium not found and MINIMIND_REQUIRE_BROWSER=1: apt-get install chromium")
	}
	t.Skip("Chromium not found: apt-get install chromium to run the browser tests (set MINIMIND_REQUIRE_BROWSER=1 to fail instead of skipping)")
	return ""
}

// browser starts a headless Chromium with a fresh profile; webgpu enables
// WebGPU on SwiftShader. The returned context runs in a new tab.
func browser(t *testing.T, path string, webgpu bool, logs *pageLog) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("disable-gpu-sandbox", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
	}
	if webgpu {
		opts = append(opts,
			chromedp.Flag("enable-unsafe-webgpu", true),
			chromedp.Flag("use-webgpu-adapter", "swiftshader"))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			logs.add(fmt.Sprintf("console.%s: %s", m.Type, m.Text))
		}
	}()
	return ctx
}

// press types a key as a keyboard does: a keyDown carrying the key's text
// (which the page can cancel) and a keyUp. shift adds the Shift modifier.
func press(key string, code string, vk int64, text string, shift bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var mod int64
		if shift {
			mod = 8
		}
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: key, Code: code,
			WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk, Text: text, UnmodifiedText: text, Modifiers: mod}
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, up)
		return err
	})
}

// drop drags paths (files or folders) from outside the browser and drops
// them in the middle of the page.
func drop(paths ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		data := &input.DragData{Items: []*input.DragDataItem{}, Files: paths, DragOperationsMask: 1}
		for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
			if _, err := cdp.Call(ctx, t, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: 400, Y: 300, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

func enter(shift bool) chromedp.Action[chromedp.Void] {
	return press("Enter", "Enter", 13, "\r", shift)
}

// pageLog collects the page's console output, shown when a test fails.
type pageLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *pageLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *pageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// do runs actions with a timeout, failing the test with the page's log.
func do(t *testing.T, ctx context.Context, logs *pageLog, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatalf("%v\npage log:\n%s", err, logs)
	}
}

// eval evaluates an expression (awaiting a promise) into T.
func eval[T any](t *testing.T, ctx context.Context, logs *pageLog, timeout time.Duration, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %.80q: %v\npage log:\n%s", expr, err, logs)
	}
	return v
}

// waitState waits until the page's body[data-state] is one of states.
func waitState(t *testing.T, ctx context.Context, logs *pageLog, timeout time.Duration, states ...string) string {
	t.Helper()
	list, _ := json.Marshal(states)
	do(t, ctx, logs, timeout, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](fmt.Sprintf(`%s.includes(document.body.dataset.state)`, list),
			chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
		return err
	}))
	return eval[string](t, ctx, logs, 5*time.Second, `document.body.dataset.state`)
}

// screenshot saves a PNG of the page into the screenshot folder.
func screenshot(t *testing.T, ctx context.Context, logs *pageLog, dir, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v\n%s", name, err, logs)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func screenshotDir(t *testing.T) string {
	if d := os.Getenv("MINIMIND_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// testRuntime builds the browser runtime from this checkout once per test
// binary (Go's build cache makes it quick after the first time).
var testRuntime = sync.OnceValues(func() (runtimeFiles, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return buildRuntime(ctx, buildOptions{Dir: "."})
})

func serve(t *testing.T, rt runtimeFiles, modelDir string) string {
	t.Helper()
	opt := serverOptions{Site: site.FS(), Wasm: rt.Wasm, WasmExec: rt.Exec}
	if modelDir != "" {
		opt.Model, opt.ModelName = os.DirFS(modelDir), "tiny test model"
	}
	srv, err := newServer(opt)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// lastReply waits for the last assistant message to finish and returns its
// tokens and text.
func lastReply(t *testing.T, ctx context.Context, logs *pageLog) ([]int32, string) {
	t.Helper()
	do(t, ctx, logs, 60*time.Second, chromedp.WaitVisible(chromedp.CSS(".msg.assistant:last-child .meta")))
	raw := eval[string](t, ctx, logs, 5*time.Second, `document.querySelector(".msg.assistant:last-child").dataset.tokens`)
	var ids []int32
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		t.Fatalf("data-tokens %q: %v", raw, err)
	}
	return ids, eval[string](t, ctx, logs, 5*time.Second, `document.querySelector(".msg.assistant:last-child").dataset.text`)
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser tests take about 35 s (plus about 35 s to compile the runtime for js/wasm with a cold build cache)")
	}
	path := chromium(t)
	fixtureDir(t, "minimind2")
	start := time.Now()
	rt, err := testRuntime()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("runtime: %d bytes (%s) in %.1fs", len(rt.Wasm), rt.Built, time.Since(start).Seconds())
	shots := screenshotDir(t)
	modelDir := writeTestModel(t, "tiny", "minimind2", 5)
	url := serve(t, rt, modelDir)

	t.Run("chat/cpu", func(t *testing.T) {
		logs := &pageLog{}
		ctx := browser(t, path, true, logs)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url+"/?engine=cpu&temperature=0&maxTokens=40&system="))
		waitState(t, ctx, logs, 60*time.Second, "ready")
		if got := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("engine").textContent`); got != "CPU · wasm" {
			t.Errorf("engine badge %q", got)
		}
		prompt := "Hello! Who are you?"
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), prompt), enter(false))
		ids, text := lastReply(t, ctx, logs)
		if v := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("input").value`); v != "" {
			t.Errorf("the composer holds %q after sending", v)
		}
		want, wantText := nativeReply(t, modelDir, []tokenizer.Message{{Role: "user", Content: prompt}}, 40, nil)
		if len(want) < 5 {
			t.Fatalf("the reference reply is too short to compare: %v", want)
		}
		if !slices.Equal(ids, want) || text != wantText {
			t.Fatalf("browser reply %v %q\nnative reply  %v %q", ids, text, want, wantText)
		}
		t.Logf("greedy reply of %d tokens equals the native CPU engine's", len(ids))
		// A second turn of two lines (Shift+Enter): the whole conversation
		// goes through the chat template.
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), "Tell me more."), enter(true),
			chromedp.SendKeys(chromedp.CSS("#input"), "Please."), enter(false))
		ids2, _ := lastReply(t, ctx, logs)
		if u := eval[string](t, ctx, logs, 5*time.Second, `[...document.querySelectorAll(".msg.user")].pop().innerText`); u != "Tell me more.\nPlease." {
			t.Errorf("second message %q", u)
		}
		want2, _ := nativeReply(t, modelDir, []tokenizer.Message{
			{Role: "user", Content: prompt}, {Role: "assistant", Content: wantText}, {Role: "user", Content: "Tell me more.\nPlease."}}, 40, nil)
		if !slices.Equal(ids2, want2) {
			t.Fatalf("second turn: browser %v, native %v", ids2, want2)
		}
		screenshot(t, ctx, logs, shots, "desktop-chat")

		// Clearing the chat during a long reply stops it and forgets the
		// conversation: the next reply is a first turn again.
		eval[bool](t, ctx, logs, 5*time.Second, `(() => { const m = document.getElementById("maxTokens"); m.value = 3000; m.dispatchEvent(new Event("input")); return true })()`)
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), "Go on."), enter(false))
		waitState(t, ctx, logs, 10*time.Second, "generating")
		eval[bool](t, ctx, logs, 5*time.Second, `(document.getElementById("clear-chat").click(), true)`)
		waitState(t, ctx, logs, 30*time.Second, "ready")
		if n := eval[int](t, ctx, logs, 5*time.Second, `document.querySelectorAll(".msg").length`); n != 0 {
			t.Errorf("%d messages after clearing the chat", n)
		}
		eval[bool](t, ctx, logs, 5*time.Second, `(() => { const m = document.getElementById("maxTokens"); m.value = 40; m.dispatchEvent(new Event("input")); return true })()`)
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), prompt), enter(false))
		if ids3, _ := lastReply(t, ctx, logs); !slices.Equal(ids3, want) {
			t.Errorf("after clearing: reply %v, want the first-turn reply %v", ids3, want)
		}
		// The phone layout, with the settings drawer open.
		do(t, ctx, logs, 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		screenshot(t, ctx, logs, shots, "phone-chat")
		do(t, ctx, logs, 10*time.Second, chromedp.Click(chromedp.CSS("#settings-open")), chromedp.WaitVisible(chromedp.CSS("#settings")))
		screenshot(t, ctx, logs, shots, "phone-settings")
	})

	t.Run("webgpu", func(t *testing.T) {
		if !rt.WebGPU {
			t.Skipf("the runtime has no WebGPU engine yet (%s); the CPU path is tested", rt.Built)
		}
		logs := &pageLog{}
		ctx := browser(t, path, true, logs)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url+"/?engine=auto&temperature=0&maxTokens=40&system="))
		waitState(t, ctx, logs, 120*time.Second, "ready")
		if got := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("engine").textContent`); got != "WebGPU" {
			t.Fatalf("engine auto with WebGPU on SwiftShader: badge %q", got)
		}
		prompt := "Hello! Who are you?"
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), prompt), enter(false))
		ids, text := lastReply(t, ctx, logs)
		want, wantText := nativeReply(t, modelDir, []tokenizer.Message{{Role: "user", Content: prompt}}, 40, nil)
		if !slices.Equal(ids, want) || text != wantText {
			t.Fatalf("WebGPU reply %v %q\nnative reply %v %q", ids, text, want, wantText)
		}
		t.Logf("WebGPU (SwiftShader) greedy reply of %d tokens equals the native CPU engine's", len(ids))
		screenshot(t, ctx, logs, shots, "webgpu-chat")
	})

	t.Run("api", func(t *testing.T) {
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url+"/nope-404"))
		type result struct {
			Engine, Family          string
			Tokens                  []int32
			Text                    string
			Stop                    string
			IDs                     []int32
			Pieces                  []string
			Steps                   []string
			DataOK                  bool
			Aborted                 bool
			AbortedTokens           int
			Cached1, Cached2        bool
			Load1Ms, Load2Ms        float64
			Template                string
			BusyCode, TooBigCode    string
			TooBigMessage           string
			TTFTMs, TokensPerSecond float64
		}
		r := eval[result](t, ctx, logs, 120*time.Second, `(async () => {
			const { MiniMind } = await import("/minimind.js");
			const mm = await MiniMind.load({ engine: "cpu" });
			const out = { Engine: mm.engine, Family: mm.info().family, Cached1: mm.info().source.cached, Load1Ms: mm.info().timings.totalMs };
			const g = await mm.generate([{ role: "system", content: "Be brief." }, { role: "user", content: "你好，你是谁？" }], { temperature: 0, maxTokens: 24 });
			Object.assign(out, { Tokens: g.tokens, Text: g.text, Stop: g.stats.stop, TTFTMs: g.stats.ttftMs, TokensPerSecond: g.stats.tokensPerSecond });
			const tk = await mm.tokenize("<|im_start|>hello world");
			Object.assign(out, { IDs: tk.ids, Pieces: tk.pieces });
			const tr = await mm.trace("hello world");
			out.Steps = tr.steps.map((s) => s.name);
			out.DataOK = tr.steps.every((s) => s.data instanceof Float32Array && s.data.length === s.shape.reduce((a, b) => a * b, 1));
			out.Template = await mm.applyChatTemplate([{ role: "user", content: "hi" }]);
			let n = 0;
			const p = mm.generate("Tell me a long story.", { temperature: 1, seed: 7, maxTokens: 3000, onToken: () => { if (++n === 3) mm.abort(); } });
			try { await mm.generate("again"); } catch (e) { out.BusyCode = e.code; }
			const ab = await p;
			Object.assign(out, { Aborted: ab.aborted, AbortedTokens: ab.tokens.length });
			mm.dispose();
			const mm2 = await MiniMind.load({ engine: "cpu" });
			Object.assign(out, { Cached2: mm2.info().source.cached, Load2Ms: mm2.info().timings.totalMs });
			mm2.dispose();
			try { await MiniMind.load({ engine: "cpu", memoryLimit: 1000 }); } catch (e) { out.TooBigCode = e.code; out.TooBigMessage = e.message; }
			return out;
		})()`)
		want, wantText := nativeReply(t, modelDir, []tokenizer.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "你好，你是谁？"}}, 24, nil)
		if r.Engine != "cpu" || r.Family != "minimind2" {
			t.Errorf("engine %q, family %q", r.Engine, r.Family)
		}
		if !slices.Equal(r.Tokens, want) || r.Text != wantText {
			t.Errorf("generate: %v %q, native %v %q", r.Tokens, r.Text, want, wantText)
		}
		if len(r.IDs) < 3 || r.IDs[0] != 1 || strings.Join(r.Pieces, "") != "<|im_start|>hello world" {
			t.Errorf("tokenize: %v %q", r.IDs, r.Pieces)
		}
		if len(r.Steps) != 25 || r.Steps[0] != "embed" || r.Steps[len(r.Steps)-1] != "logits" || !r.DataOK {
			t.Errorf("trace steps %v (data ok %v)", r.Steps, r.DataOK)
		}
		if !strings.HasSuffix(r.Template, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n") {
			t.Errorf("template %q", r.Template)
		}
		if !r.Aborted || r.AbortedTokens < 3 || r.AbortedTokens > 40 || r.BusyCode != "busy" {
			t.Errorf("abort: aborted %v after %d tokens; second generate: %q", r.Aborted, r.AbortedTokens, r.BusyCode)
		}
		if r.Cached1 || !r.Cached2 {
			t.Errorf("cache: first load cached %v, second %v", r.Cached1, r.Cached2)
		}
		if r.TooBigCode != "too-big" || !strings.Contains(r.TooBigMessage, "needs about") {
			t.Errorf("memory check: %q %q", r.TooBigCode, r.TooBigMessage)
		}
		t.Logf("loads %.0f ms then %.0f ms from the cache; first token %.0f ms; %.1f tokens/s (tiny model)", r.Load1Ms, r.Load2Ms, r.TTFTMs, r.TokensPerSecond)
	})

	t.Run("minimind3-thinking", func(t *testing.T) {
		dir3 := writeTestModel(t, "tiny3", "minimind3", 3)
		url3 := serve(t, rt, dir3)
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url3+"/?engine=cpu&temperature=0&maxTokens=24&thinking=1&system="))
		waitState(t, ctx, logs, 60*time.Second, "ready")
		prompt := "Why is the sky blue?"
		do(t, ctx, logs, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), prompt), enter(false))
		ids, text := lastReply(t, ctx, logs)
		want, wantText := nativeReply(t, dir3, []tokenizer.Message{{Role: "user", Content: prompt}}, 24,
			map[string]any{"enable_thinking": true, "open_thinking": true})
		if !slices.Equal(ids, want) || text != wantText {
			t.Fatalf("browser reply %v %q\nnative reply  %v %q", ids, text, want, wantText)
		}
		// The template opened a think block, so the reply is reasoning,
		// shown folded.
		think := eval[string](t, ctx, logs, 5*time.Second, `(() => {
			const d = document.querySelector(".msg.assistant:last-child details.think");
			return d.hidden ? "hidden" : (d.open ? "open: " : "folded: ") + d.querySelector("summary").textContent;
		})()`)
		if !strings.HasPrefix(think, "folded: Reasoning") {
			t.Errorf("think block: %q", think)
		}
		screenshot(t, ctx, logs, shots, "minimind3-thinking")
	})

	t.Run("fallback-without-webgpu", func(t *testing.T) {
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url+"/?engine=auto"))
		waitState(t, ctx, logs, 60*time.Second, "ready")
		badge := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("engine").textContent`)
		banner := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").hidden ? "" : document.getElementById("banner").className + ": " + document.getElementById("banner").innerText`)
		if badge != "CPU · wasm" || !strings.Contains(banner, "notice") || !strings.Contains(banner, "WebGPU") || !strings.Contains(banner, "CPU") {
			t.Errorf("badge %q, banner %q", badge, banner)
		}
		screenshot(t, ctx, logs, shots, "fallback")
		do(t, ctx, logs, 10*time.Second, chromedp.Navigate(url+"/?engine=webgpu"))
		waitState(t, ctx, logs, 60*time.Second, "error")
		banner = eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").innerText`)
		if !strings.Contains(banner, "WebGPU is not available") || !strings.Contains(banner, "Use the CPU") {
			t.Errorf("engine=webgpu without WebGPU: banner %q", banner)
		}
		do(t, ctx, logs, 10*time.Second, chromedp.Click(chromedp.Search(`//button[text()="Use the CPU"]`)))
		waitState(t, ctx, logs, 60*time.Second, "ready")
	})

	t.Run("errors", func(t *testing.T) {
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		// Files that are not a MiniMind model.
		bad := t.TempDir()
		for _, f := range []string{"config.json", "tokenizer.json"} {
			data, _ := os.ReadFile(filepath.Join(modelDir, f))
			os.WriteFile(filepath.Join(bad, f), data, 0o644)
		}
		os.WriteFile(filepath.Join(bad, "model.safetensors"), []byte("this is a text file, not tensors"), 0o644)
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url+"/?engine=cpu"))
		waitState(t, ctx, logs, 60*time.Second, "ready")
		do(t, ctx, logs, 10*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#pick-files"), []string{
			filepath.Join(bad, "config.json"), filepath.Join(bad, "model.safetensors"), filepath.Join(bad, "tokenizer.json")}))
		waitState(t, ctx, logs, 60*time.Second, "error")
		banner := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").innerText`)
		if !strings.Contains(banner, "This is not a MiniMind model") || !strings.Contains(banner, "safetensors model.safetensors: header") {
			t.Errorf("wrong file: banner %q", banner)
		}
		// A config.json that is not a MiniMind config.
		os.WriteFile(filepath.Join(bad, "config.json"), []byte(`{"architectures": ["BertModel"], "hidden_size": 64}`), 0o644)
		eval[bool](t, ctx, logs, 5*time.Second, `(document.body.dataset.state = "test", true)`) // see the next error, not this one
		do(t, ctx, logs, 10*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#pick-files"), []string{
			filepath.Join(bad, "config.json"), filepath.Join(bad, "model.safetensors"), filepath.Join(bad, "tokenizer.json")}))
		waitState(t, ctx, logs, 60*time.Second, "error")
		banner = eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").innerText`)
		if !strings.Contains(banner, "This is not a MiniMind model") || !strings.Contains(banner, "config.json") || !strings.Contains(banner, "vocab_size") {
			t.Errorf("wrong config: banner %q", banner)
		}
		screenshot(t, ctx, logs, shots, "error-not-minimind")

		// The right files, picked by the user, load and chat.
		do(t, ctx, logs, 10*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#pick-files"), []string{
			filepath.Join(modelDir, "config.json"), filepath.Join(modelDir, "model.safetensors"),
			filepath.Join(modelDir, "tokenizer.json"), filepath.Join(modelDir, "tokenizer_config.json")}))
		waitState(t, ctx, logs, 60*time.Second, "ready")

		// A model over the memory limit.
		do(t, ctx, logs, 10*time.Second, chromedp.Navigate(url+"/?engine=cpu&memlimit=200000"))
		waitState(t, ctx, logs, 60*time.Second, "error")
		banner = eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").innerText`)
		if !strings.Contains(banner, "The model does not fit") || !strings.Contains(banner, "needs about") {
			t.Errorf("too big: banner %q", banner)
		}
		screenshot(t, ctx, logs, shots, "error-too-big")

		// A download that fails.
		do(t, ctx, logs, 10*time.Second, chromedp.Navigate(url+"/?engine=cpu&model=/missing/model.safetensors"))
		waitState(t, ctx, logs, 60*time.Second, "error")
		banner = eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").innerText`)
		if !strings.Contains(banner, "The download failed") || !strings.Contains(banner, "404") {
			t.Errorf("download: banner %q", banner)
		}
	})

	t.Run("no-default-model", func(t *testing.T) {
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		bare := serve(t, rt, "")
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(bare+"/?engine=cpu"))
		waitState(t, ctx, logs, 60*time.Second, "choose")
		banner := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("banner").className + ": " + document.getElementById("banner").innerText`)
		if !strings.Contains(banner, "info") || !strings.Contains(banner, "no default model") {
			t.Errorf("banner %q", banner)
		}
		screenshot(t, ctx, logs, shots, "no-default-model")
		// A model folder dropped on the page.
		do(t, ctx, logs, 10*time.Second, drop(modelDir))
		waitState(t, ctx, logs, 60*time.Second, "ready")
		name := eval[string](t, ctx, logs, 5*time.Second, `document.getElementById("model-name").textContent`)
		if !strings.HasPrefix(name, filepath.Base(modelDir)+" ·") && !strings.HasPrefix(name, "model.safetensors ·") {
			t.Errorf("dropped folder: model name %q", name)
		}
		t.Logf("dropped folder loaded as %q", name)
		// A model by URL, from another origin (the model files allow CORS).
		do(t, ctx, logs, 10*time.Second, chromedp.Navigate(bare+"/?engine=cpu&model="+url+"/models/default/"))
		waitState(t, ctx, logs, 60*time.Second, "ready")
	})
}

// TestBrowserBench measures the browser runtime in headless Chromium: the
// time to start the runtime and load a model (first download, then from
// Cache Storage), the time to the first token and the decode speed, against
// the native CPU engine on one thread in this process (the anchor). Random
// weights of MiniMind's shapes; set MINIMIND_BROWSER_BENCH=1.
func TestBrowserBench(t *testing.T) {
	if os.Getenv("MINIMIND_BROWSER_BENCH") != "1" {
		t.Skip("set MINIMIND_BROWSER_BENCH=1 to measure the browser runtime")
	}
	path := chromium(t)
	rt, err := testRuntime()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wasm: %d bytes (%.1f MB), %s", len(rt.Wasm), float64(len(rt.Wasm))/(1<<20), rt.Built)
	engines := []string{"cpu"}
	if rt.WebGPU {
		engines = append(engines, "webgpu")
	}
	const prompt, maxTokens = "请介绍一下你自己。", 64
	for _, preset := range []string{"zero", "minimind2-small"} {
		dir := writeTestModel(t, preset, "minimind2", 9)
		url := serve(t, rt, dir)
		// The anchor: the native CPU engine, one thread, same prompt.
		start := time.Now()
		var first time.Time
		nt := 0
		{
			cfg, w, err := checkpoint.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := model.New(cfg, cpu.New(1), w)
			tok, _ := tokenizer.Load(dir)
			text, _ := tok.ApplyChatTemplate([]tokenizer.Message{{Role: "user", Content: prompt}}, tokenizer.ChatOptions{AddGenerationPrompt: true})
			start = time.Now()
			out, err := m.Generate(context.Background(), tok.Encode(text), model.GenerateOptions{MaxTokens: maxTokens, StopTokens: []int32{}, OnToken: func(int32) error {
				if first.IsZero() {
					first = time.Now()
				}
				return nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			nt = len(out)
		}
		nativeTPS := float64(nt-1) / time.Since(first).Seconds()
		t.Logf("%s native CPU (1 thread): first token %.0f ms, decode %.1f tokens/s", preset, float64(first.Sub(start).Microseconds())/1e3, nativeTPS)
		for _, engine := range engines {
			logs := &pageLog{}
			ctx := browser(t, path, engine == "webgpu", logs)
			do(t, ctx, logs, 30*time.Second, chromedp.Navigate(url+"/nope"))
			type bench struct {
				Engine                          string
				Init1, Load1, Total1, Download1 float64
				Init2, Load2, Total2            float64
				Cached2                         bool
				TTFT, TPS                       float64
				Tokens                          int
			}
			b := eval[bench](t, ctx, logs, 10*time.Minute, fmt.Sprintf(`(async () => {
				const { MiniMind } = await import("/minimind.js");
				let mm = await MiniMind.load({ engine: %q });
				const i1 = mm.info();
				mm.dispose();
				mm = await MiniMind.load({ engine: %q });
				const i2 = mm.info();
				await mm.generate(%q, { temperature: 0, maxTokens: 4 }); // warm up
				const g = await mm.generate(%q, { temperature: 0, maxTokens: %d });
				return { Engine: mm.engine, Init1: i1.timings.initMs, Load1: i1.timings.loadMs + i1.timings.downloadMs, Download1: i1.timings.downloadMs, Total1: i1.timings.totalMs,
					Init2: i2.timings.initMs, Load2: i2.timings.loadMs + i2.timings.downloadMs, Total2: i2.timings.totalMs, Cached2: i2.source.cached,
					TTFT: g.stats.ttftMs, TPS: g.stats.tokensPerSecond, Tokens: g.stats.tokens };
			})()`, engine, engine, prompt, prompt, maxTokens))
			t.Logf("%s browser %s: start+load %.0f ms (runtime %.0f + download %.0f + model %.0f), again from the cache %.0f ms (cached %v); first token %.0f ms; decode %.1f tokens/s over %d tokens (%.2f× native)",
				preset, b.Engine, b.Total1, b.Init1, b.Download1, b.Load1-b.Download1, b.Total2, b.Cached2, b.TTFT, b.TPS, b.Tokens, b.TPS/nativeTPS)
		}
	}
}
