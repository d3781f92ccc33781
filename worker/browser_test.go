//go:build !js

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds headless Chromium ($MINIMIND_CHROMIUM, else chromium on
// PATH), or skips; MINIMIND_REQUIRE_BROWSER=1 makes its absence an error.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("MINIMIND_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MINIMIND_REQUIRE_BROWSER") == "1" {
		t.Fatal("Chromium not found and MINIMIND_REQUIRE_BROWSER=1: apt-get install chromium")
	}
	t.Skip("Chromium not found: apt-get install chromium (MINIMIND_REQUIRE_BROWSER=1 makes this an error)")
	return ""
}

// headless starts Chromium and returns a tab's context (3 minutes at most)
// and the page's console log so far.
func headless(t *testing.T) (context.Context, func() []string) {
	if testing.Short() {
		t.Skip("-short: browser test")
	}
	path := chromiumPath(t)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path), chromedp.Headless,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-background-timer-throttling", true))
	bctx, cancelB := chromedp.NewContext(actx)
	require.NoError(t, chromedp.Do(bctx), "starting %s", path)
	var mu sync.Mutex
	var logs []string
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			mu.Lock()
			logs = append(logs, fmt.Sprintf("console.%s: %s", m.Type, m.Text))
			mu.Unlock()
		}
	}()
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() { cancel(); cancelB(); cancelA() })
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), logs...) }
}

// browserChat opens the chat page at base in headless Chromium on the CPU
// engine, greedy, without a system prompt, sends prompt and returns the
// assistant's reply as the page shows it.
func browserChat(t *testing.T, base, prompt string, maxTokens int) string {
	ctx, pageLog := headless(t)
	page := fmt.Sprintf("%s/?engine=cpu&temperature=0&maxTokens=%d&system=", base, maxTokens)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page)), "%v", pageLog())
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.dataset.state === "ready"`,
		chromedp.WithPollingInterval(100*time.Millisecond)))
	require.NoError(t, err, "the chat did not get ready: %v", pageLog())
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const input = document.getElementById("input");
		input.value = %q;
		input.dispatchEvent(new Event("input"));
		document.getElementById("composer").requestSubmit();
		return true })()`, prompt)))
	require.NoError(t, err, "%v", pageLog())
	require.True(t, ok)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".msg.assistant:last-child .meta"))), "no reply: %v", pageLog())
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(".msg.assistant:last-child").dataset.text`))
	require.NoError(t, err)
	t.Logf("the chat page, served by workerd, answered %q", text)
	return text
}

// browserLearn opens the tutorial at base/learn/ on the CPU engine with
// prompt and returns the token ids and the name of the tensor of its
// "embed" step.
func browserLearn(t *testing.T, base, prompt string) (ids []int32, tensor string) {
	ctx, pageLog := headless(t)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/learn/?engine=cpu&chat=0&prompt="+url.QueryEscape(prompt))), "%v", pageLog())
	var st struct {
		Tokens struct {
			IDs []int32 `json:"ids"`
		} `json:"tokens"`
		Tensor struct {
			Name string `json:"name"`
		} `json:"tensor"`
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.minimindTutorial.ready.then(() => window.minimindTutorial.goto("embed")).then(s => JSON.stringify(s))`,
		chromedp.EvalAwaitPromise))
	require.NoError(t, err, "the tutorial: %v", pageLog())
	require.NoError(t, json.Unmarshal([]byte(raw), &st), raw)
	return st.Tokens.IDs, st.Tensor.Name
}
