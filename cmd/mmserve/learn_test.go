//go:build !js

package main

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/site"
	"github.com/minimind-go/minimind/wasm/session"
	"github.com/minimind-go/minimind/zoo"
)

// The tutorial's browser tests load /learn/ in headless Chromium, step
// through every step of the walk through window.minimindTutorial and compare
// the tensor on screen with the native CPU engine's detailed trace of the
// same tokens (session.Walk in this process), on the page's CPU engine and
// on WebGPU (SwiftShader), for the embedded Zero model and a random tiny
// minimind3 MoE. They also check the RoPE grid, a deep link, the keyboard,
// that the console stays clean, and save screenshots of every kind of view
// (desktop, phone, dark) into MINIMIND_SCREENSHOT_DIR.

// learnState is what minimindTutorial.state() returns.
type learnState struct {
	Model, Family, Engine, Prompt, Step, URL string
	StepIndex, Steps, Layer, Head, Token     int
	Tokens                                   struct {
		IDs    []int32
		Pieces []string
	}
	Next   struct{ ID int32 }
	Tensor struct {
		Name  string
		Shape []int
		Data  []*float64 // null for the masked (−∞) scores
	}
	Rope *struct {
		Grid struct {
			Size                                   int
			MaxDiagSpread, MaxAbs, AcrossDiagonals float64
		}
		Check struct{ MaxAbsDiff, MaxAbs float64 }
	}
	Sampling *struct {
		Kept, Drawn, Greedy int
	}
	Timings struct{ TraceMs, WalkMs, LastStepMs, FirstViewMs, LoadMs float64 }
}

type learnStep struct {
	Index int
	ID    string
	Layer *int
	Name  string
}

// serveFS serves the site with the default model taken from fsys.
func serveFS(t *testing.T, rt runtimeFiles, fsys fs.FS, name string) string {
	t.Helper()
	srv, err := newServer(serverOptions{Site: site.FS(), Wasm: rt.Wasm, WasmExec: rt.Exec, Model: fsys, ModelName: name})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// nativeWalk is the reference: the walk of ids on the native CPU engine.
func nativeWalk(t *testing.T, fsys fs.FS, ids []int32) *session.Walk {
	t.Helper()
	files := session.Files{}
	for _, n := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		data, err := fs.ReadFile(fsys, n)
		require.NoError(t, err)
		files[n] = data
	}
	s, err := session.Load(context.Background(), "reference", files, cpu.New(0))
	require.NoError(t, err)
	w, err := s.Walk(ids)
	require.NoError(t, err)
	return w
}

// relErr is max|got − want| / max|want| over the finite values; masked
// values must be masked in both.
func relErr(t *testing.T, name string, got []*float64, want []float32) float64 {
	t.Helper()
	require.Len(t, got, len(want), name)
	var diff, mag float64
	for i, w := range want {
		if math.IsInf(float64(w), 0) || math.IsNaN(float64(w)) {
			require.Nil(t, got[i], "%s[%d]: native %v", name, i, w)
			continue
		}
		require.NotNil(t, got[i], "%s[%d]: page has no value, native %v", name, i, w)
		diff = math.Max(diff, math.Abs(*got[i]-float64(w)))
		mag = math.Max(mag, math.Abs(float64(w)))
	}
	if mag == 0 {
		return diff
	}
	return diff / mag
}

// residNorms is the residual view's tensor computed from the native walk:
// ‖x‖ of each token after embed and after every attention and FFN add.
func residNorms(t *testing.T, w *session.Walk, layers int) []float32 {
	names := []string{"embed"}
	for l := range layers {
		names = append(names, fmt.Sprintf("layers.%d.resid_mid", l), fmt.Sprintf("layers.%d.resid_out", l))
	}
	var out []float32
	for _, n := range names {
		st, ok := w.Step(n)
		require.True(t, ok, n)
		T, D := st.Shape[0], st.Shape[1]
		for r := range T {
			var s float64
			for _, v := range st.Data[r*D : (r+1)*D] {
				s += float64(v) * float64(v)
			}
			out = append(out, float32(math.Sqrt(s)))
		}
	}
	return out
}

func darkMode(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if on {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
		} else {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	})
}

// consoleProblems returns the page's console errors and uncaught exceptions.
func consoleProblems(logs *pageLog) []string {
	var bad []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.HasPrefix(l, "console.error") || strings.HasPrefix(l, "console.exception") || strings.HasPrefix(l, "console.assert") {
			bad = append(bad, l)
		}
	}
	return bad
}

func gotoStep(t *testing.T, ctx context.Context, logs *pageLog, expr string) learnState {
	t.Helper()
	return eval[learnState](t, ctx, logs, 60*time.Second, `window.minimindTutorial.goto(`+expr+`)`)
}

func TestLearn(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the tutorial's browser tests take about a minute")
	}
	path := chromium(t)
	rt, err := testRuntime()
	require.NoError(t, err)
	shots := screenshotDir(t)

	zero, err := zoo.Default()
	require.NoError(t, err)
	moeDir := writeTestModel(t, "tiny3-moe", "minimind3", 11)
	models := []struct {
		name, prompt string
		fsys         fs.FS
	}{
		{"zero", "Who are you?", zero},
		{"tiny3-moe", "Hello, world", os.DirFS(moeDir)},
	}
	engines := []string{"cpu"}
	if rt.WebGPU {
		engines = append(engines, "webgpu")
	} else if os.Getenv("MINIMIND_REQUIRE_WEBGPU") == "1" {
		t.Fatalf("MINIMIND_REQUIRE_WEBGPU=1 but the runtime has no WebGPU engine (%s)", rt.Built)
	} else {
		t.Logf("the runtime has no WebGPU engine (%s): the WebGPU walk is not checked", rt.Built)
	}
	for _, md := range models {
		url := serveFS(t, rt, md.fsys, md.name)
		for _, engine := range engines {
			t.Run(md.name+"/"+engine, func(t *testing.T) {
				logs := &pageLog{}
				ctx := browser(t, path, engine == "webgpu", logs)
				start := time.Now()
				do(t, ctx, logs, 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/learn/?engine=%s&chat=1&prompt=%s", url, engine, strings.ReplaceAll(md.prompt, " ", "+"))))
				eval[bool](t, ctx, logs, 180*time.Second, `window.minimindTutorial.ready.then(() => true)`)
				firstView := time.Since(start)
				st := eval[learnState](t, ctx, logs, 10*time.Second, `window.minimindTutorial.state()`)
				require.Equal(t, engine, st.Engine)
				require.NotEmpty(t, st.Tokens.IDs)
				ref := nativeWalk(t, md.fsys, st.Tokens.IDs)
				require.Equal(t, ref.Next, st.Next.ID, "greedy next token")
				steps := eval[[]learnStep](t, ctx, logs, 10*time.Second, `window.minimindTutorial.steps()`)
				require.Greater(t, len(steps), 20)

				// Every step: the tensor on screen is the native engine's.
				layers := 0
				for _, s := range steps {
					if s.Layer != nil {
						layers = max(layers, *s.Layer+1)
					}
				}
				var worst float64
				worstName := ""
				var stepMs []float64
				for _, s := range steps {
					got := gotoStep(t, ctx, logs, fmt.Sprint(s.Index))
					require.Equal(t, s.Index, got.StepIndex)
					if s.Layer != nil || !strings.Contains(s.Name, "layers.") {
						require.Equal(t, s.Name, got.Tensor.Name, "step %d %s", s.Index, s.ID)
					}
					s.Name = got.Tensor.Name // the generation steps follow the chosen layer
					stepMs = append(stepMs, got.Timings.LastStepMs)
					var want []float32
					if s.Name == "resid_norms" {
						want = residNorms(t, ref, layers)
					} else {
						ns, ok := ref.Step(s.Name)
						require.True(t, ok, "the native walk has no step %s", s.Name)
						require.Equal(t, ns.Shape, got.Tensor.Shape, s.Name)
						want = ns.Data
					}
					e := relErr(t, s.Name, got.Tensor.Data, want)
					assert.LessOrEqual(t, e, 1e-4, "step %d %s (%s): relative error", s.Index, s.ID, s.Name)
					if e > worst {
						worst, worstName = e, s.Name
					}
					if s.ID == "rope" {
						require.NotNil(t, got.Rope)
						g := got.Rope.Grid
						assert.LessOrEqual(t, g.MaxDiagSpread, 1e-6*g.MaxAbs, "RoPE grid is constant along its diagonals")
						assert.Greater(t, g.AcrossDiagonals, 1e-3*g.MaxAbs, "RoPE grid varies across diagonals")
						assert.LessOrEqual(t, got.Rope.Check.MaxAbsDiff, 1e-4*max(1, got.Rope.Check.MaxAbs), "the page's RoPE of q_proj is the model's q")
					}
					if s.ID == "sample" {
						require.NotNil(t, got.Sampling)
						assert.Equal(t, int(ref.Next), got.Sampling.Greedy)
					}
				}
				var sum, maxMs float64
				for _, v := range stepMs {
					sum += v
					maxMs = math.Max(maxMs, v)
				}
				t.Logf("%s on %s: %d steps, %d tokens, every tensor equals the native CPU engine's (worst relative error %.2g at %s); load to first view %.0f ms (trace %.0f ms); step change mean %.1f ms, max %.1f ms",
					md.name, engine, len(steps), len(st.Tokens.IDs), worst, worstName, float64(firstView.Milliseconds()), st.Timings.TraceMs, sum/float64(len(stepMs)), maxMs)

				// Sampling reshapes the cached logits: top-k 5 keeps 5 tokens,
				// temperature 0 draws the greedy token.
				gotoStep(t, ctx, logs, `"sample"`)
				set := func(id string, v float64) learnState {
					return eval[learnState](t, ctx, logs, 10*time.Second, fmt.Sprintf(`(async () => {
						const e = document.getElementById(%q); e.value = %v; e.dispatchEvent(new Event("input"));
						await new Promise(r => setTimeout(r, 100));
						return window.minimindTutorial.state(); })()`, id, v))
				}
				set("s-topP", 1)
				set("s-temperature", 1)
				sm := set("s-topK", 5)
				require.NotNil(t, sm.Sampling)
				assert.Equal(t, 5, sm.Sampling.Kept, "top-k 5")
				sm = set("s-temperature", 0)
				assert.Equal(t, 1, sm.Sampling.Kept)
				assert.Equal(t, int(ref.Next), sm.Sampling.Drawn, "temperature 0 draws the greedy token")
				set("s-temperature", 0.85)
				set("s-topK", 0)
				set("s-topP", 0.85)

				// Keyboard: → and j go forward, ← and k back.
				gotoStep(t, ctx, logs, `"embed"`)
				do(t, ctx, logs, 10*time.Second, chromedp.Click(chromedp.CSS("#step-title")),
					press("ArrowRight", "ArrowRight", 39, "", false), press("j", "KeyJ", 74, "j", false))
				k := eval[learnState](t, ctx, logs, 10*time.Second, `new Promise(r => setTimeout(r, 300)).then(() => window.minimindTutorial.state())`)
				assert.Equal(t, 3, k.StepIndex, "→ then j from step 1")
				do(t, ctx, logs, 10*time.Second, press("ArrowLeft", "ArrowLeft", 37, "", false), press("k", "KeyK", 75, "k", false))
				k = eval[learnState](t, ctx, logs, 10*time.Second, `new Promise(r => setTimeout(r, 300)).then(() => window.minimindTutorial.state())`)
				assert.Equal(t, 1, k.StepIndex, "← then k")

				// A deep link reopens the same view.
				view := gotoStep(t, ctx, logs, `"attn_probs", {layer: 1, head: 1, token: 2}`)
				require.Equal(t, "attn_probs", view.Step)
				link := view.URL
				assert.Contains(t, link, "step=attn_probs")
				do(t, ctx, logs, 30*time.Second, chromedp.Navigate(link))
				eval[bool](t, ctx, logs, 180*time.Second, `window.minimindTutorial.ready.then(() => true)`)
				again := eval[learnState](t, ctx, logs, 10*time.Second, `window.minimindTutorial.state()`)
				assert.Equal(t, []any{view.Step, view.Layer, view.Head, view.Token, view.Tensor.Name, view.Prompt}, []any{again.Step, again.Layer, again.Head, again.Token, again.Tensor.Name, again.Prompt})
				assert.Equal(t, view.Tensor.Data, again.Tensor.Data, "the deep link shows the same numbers")

				if engine == "cpu" {
					learnScreenshots(t, ctx, logs, shots, md.name)
				}
				if engine == "cpu" && md.name == "zero" {
					// Another model, opened as a folder: the walk follows
					// its architecture (minimind3 MoE: q/k-norm, routing).
					do(t, ctx, logs, 10*time.Second, chromedp.SetUploadFiles(chromedp.CSS("#pick-folder"), []string{moeDir}))
					ids := eval[[]string](t, ctx, logs, 120*time.Second, `(async () => {
						while (window.minimindTutorial.state().family !== "minimind3" || document.body.dataset.state !== "ready") await new Promise(r => setTimeout(r, 50));
						return window.minimindTutorial.steps().map(s => s.id); })()`)
					assert.Contains(t, ids, "q_norm")
					assert.Contains(t, ids, "router_experts")
					assert.NotContains(t, ids, "gate")
				}
				assert.Empty(t, consoleProblems(logs), "console errors")
			})
		}
	}
}

// learnScreenshots saves every kind of view: desktop, then phone width,
// then dark mode.
func learnScreenshots(t *testing.T, ctx context.Context, logs *pageLog, dir, model string) {
	t.Helper()
	views := []string{`"tokens"`, `"embed"`, `"input_norm", {layer: 0}`, `"q_proj", {layer: 0}`, `"q_norm", {layer: 0}`, `"rope", {layer: 0, token: 3}`, `"attn_scores", {layer: 0}`, `"attn_probs", {layer: 1, head: 1}`,
		`"gate"`, `"router_experts", {layer: 0}`, `"logits", {token: 1000}`, `"sample"`, `"kv_cache"`, `"decode_attn"`, `"residual"`}
	shoot := func(prefix string, pick []string) {
		for _, v := range pick {
			st := gotoStep(t, ctx, logs, v)
			if !strings.Contains(v, `"`+st.Step+`"`) {
				continue // a step this model does not have (gate on MoE, router on dense)
			}
			eval[bool](t, ctx, logs, 10*time.Second, `(document.getElementById("stage").scrollTop = 0, true)`)
			screenshot(t, ctx, logs, dir, fmt.Sprintf("learn-%s-%s-%s", model, prefix, st.Step))
		}
	}
	// The README's picture: a small window on the attention lab.
	do(t, ctx, logs, 10*time.Second, chromedp.EmulateViewport(1040, 960))
	time.Sleep(400 * time.Millisecond) // the page redraws after a resize
	gotoStep(t, ctx, logs, `"attn_probs", {layer: 1, head: 1, token: 1000}`)
	eval[bool](t, ctx, logs, 10*time.Second, `(() => { const st = document.getElementById("stage");
		st.scrollTop = document.getElementById("step-crumb").getBoundingClientRect().top - st.getBoundingClientRect().top + st.scrollTop - 6;
		return new Promise(r => setTimeout(() => r(true), 300)); })()`)
	screenshot(t, ctx, logs, dir, "learn-"+model+"-readme")
	do(t, ctx, logs, 10*time.Second, chromedp.EmulateViewport(1366, 1000))
	shoot("desktop", views)
	// The numeric view, opened.
	gotoStep(t, ctx, logs, `"input_rms", {layer: 0}`)
	eval[bool](t, ctx, logs, 10*time.Second, `(() => { document.getElementById("numbers").open = true; const st = document.getElementById("stage");
		return new Promise(r => setTimeout(() => { st.scrollTop = st.scrollHeight; r(document.querySelectorAll(".num").length > 0); }, 200)); })()`)
	screenshot(t, ctx, logs, dir, fmt.Sprintf("learn-%s-desktop-numbers", model))
	eval[bool](t, ctx, logs, 10*time.Second, `(document.getElementById("numbers").open = false, true)`)
	// The lower half of the attention lab: every head and the GQA grouping.
	gotoStep(t, ctx, logs, `"attn_probs", {layer: 0, head: 0}`)
	eval[bool](t, ctx, logs, 10*time.Second, `(() => { const st = document.getElementById("stage");
		st.scrollTop = document.querySelector(".heads").getBoundingClientRect().top - st.getBoundingClientRect().top + st.scrollTop - 60;
		return new Promise(r => setTimeout(() => r(true), 200)); })()`)
	screenshot(t, ctx, logs, dir, fmt.Sprintf("learn-%s-desktop-attn_probs-heads", model))
	do(t, ctx, logs, 10*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	shoot("phone", []string{`"tokens"`, `"rope", {layer: 0}`, `"attn_probs", {layer: 0}`, `"sample"`})
	eval[bool](t, ctx, logs, 10*time.Second, `(document.getElementById("outline-toggle").click(), new Promise(r => setTimeout(() => r(true), 400)))`)
	screenshot(t, ctx, logs, dir, fmt.Sprintf("learn-%s-phone-outline", model))
	eval[bool](t, ctx, logs, 10*time.Second, `(document.getElementById("outline-toggle").click(), true)`)
	do(t, ctx, logs, 10*time.Second, chromedp.EmulateViewport(1366, 1000), darkMode(true))
	time.Sleep(300 * time.Millisecond)
	shoot("dark", []string{`"attn_probs", {layer: 0}`, `"rope", {layer: 0}`, `"residual"`, `"router_experts", {layer: 0}`})
	do(t, ctx, logs, 10*time.Second, darkMode(false))
}

// TestLearnBench measures the tutorial in headless Chromium on the CPU
// engine: the time from navigation to the first view, the trace of a
// 32-token prompt, and the time per step change, for the embedded Zero
// model and a random minimind2-small; the anchor is the same walk on the
// native CPU engine on one thread. Set MINIMIND_BROWSER_BENCH=1.
func TestLearnBench(t *testing.T) {
	if os.Getenv("MINIMIND_BROWSER_BENCH") != "1" {
		t.Skip("set MINIMIND_BROWSER_BENCH=1 to measure the tutorial")
	}
	path := chromium(t)
	rt, err := testRuntime()
	require.NoError(t, err)
	zero, err := zoo.Default()
	require.NoError(t, err)
	small := os.DirFS(writeTestModel(t, "minimind2-small", "minimind2", 9))
	const text = "The light was filtered through a soft glass window while the river ran past the old house, and a friend walked slowly along the road to the city before the evening came."
	for _, md := range []struct {
		name string
		fsys fs.FS
	}{{"zero", zero}, {"minimind2-small", small}} {
		// A raw prompt of exactly 32 tokens: the longest prefix of text
		// (in words) with at most 32, padded with " and" if needed.
		files := session.Files{}
		for _, n := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
			data, err := fs.ReadFile(md.fsys, n)
			require.NoError(t, err)
			files[n] = data
		}
		native, err := session.Load(context.Background(), "anchor", files, cpu.New(1))
		require.NoError(t, err)
		words := strings.Fields(text)
		prompt := ""
		for i := range words {
			p := strings.Join(words[:i+1], " ")
			if len(native.Tokenize(p).IDs) > 32 {
				break
			}
			prompt = p
		}
		for len(native.Tokenize(prompt).IDs) < 32 {
			prompt += " and"
		}
		ids := native.Tokenize(prompt).IDs
		require.Len(t, ids, 32, prompt)
		native.Walk(ids) // warm up
		start := time.Now()
		_, err = native.Walk(ids)
		require.NoError(t, err)
		nativeMs := float64(time.Since(start).Microseconds()) / 1e3

		url := serveFS(t, rt, md.fsys, md.name)
		logs := &pageLog{}
		ctx := browser(t, path, false, logs)
		start = time.Now()
		do(t, ctx, logs, 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/learn/?engine=cpu&chat=0&prompt=%s", url, strings.ReplaceAll(prompt, " ", "+"))))
		eval[bool](t, ctx, logs, 300*time.Second, `window.minimindTutorial.ready.then(() => true)`)
		firstView := float64(time.Since(start).Milliseconds())
		st := eval[learnState](t, ctx, logs, 10*time.Second, `window.minimindTutorial.state()`)
		require.Len(t, st.Tokens.IDs, 32)
		// A second trace of the same prompt (the runtime warm).
		again := eval[learnState](t, ctx, logs, 120*time.Second, `(async () => {
			document.getElementById("prompt-form").requestSubmit();
			const t0 = performance.now();
			while (performance.now() - t0 < 100000) {
				await new Promise(r => setTimeout(r, 20));
				if (document.body.dataset.state === "ready" && window.minimindTutorial.state().timings.walkMs !== undefined && performance.now() - t0 > 50) break;
			}
			return window.minimindTutorial.state(); })()`)
		type times struct{ Cold, Warm []float64 }
		tm := eval[times](t, ctx, logs, 300*time.Second, `(async () => {
			const T = window.minimindTutorial, n = T.steps().length, cold = [], warm = [];
			const slow = [];
			for (let i = 0; i < n; i++) { await T.goto(i); const tm = T.state().timings; cold.push(tm.lastStepMs); slow.push([tm.lastStepMs, T.state().step, JSON.stringify(tm.phases)]); }
			slow.sort((a, b) => b[0] - a[0]); console.log("slowest: " + JSON.stringify(slow.slice(0, 8)));
			for (let i = 0; i < n; i++) { await T.goto(i); warm.push(T.state().timings.lastStepMs); }
			return { Cold: cold, Warm: warm }; })()`)
		stat := func(v []float64) (mean, p95, mx float64) {
			s := append([]float64(nil), v...)
			slicesSort(s)
			for _, x := range s {
				mean += x
			}
			return mean / float64(len(s)), s[int(0.95*float64(len(s)-1))], s[len(s)-1]
		}
		cm, cp, cx := stat(tm.Cold)
		wm, wp, wx := stat(tm.Warm)
		t.Logf("%s, 32-token prompt, CPU engine in the browser: load to first view %.0f ms (runtime start + model load %.0f ms); trace %.0f ms at load, %.0f ms warm (native CPU, 1 thread: %.0f ms, ratio %.1f×); step change over %d steps: first visit mean %.1f ms, p95 %.1f, max %.1f; revisit mean %.1f ms, p95 %.1f, max %.1f",
			md.name, firstView, st.Timings.LoadMs, st.Timings.TraceMs, again.Timings.TraceMs, nativeMs, again.Timings.TraceMs/nativeMs, len(tm.Cold), cm, cp, cx, wm, wp, wx)
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "slowest") {
				t.Log(l)
			}
		}
	}
}

func slicesSort(s []float64) { sort.Float64s(s) }
