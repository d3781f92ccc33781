package serve_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/serve"
	"github.com/minimind-go/minimind/tokenizer"
)

// TestConcurrencyTable measures the API on minimind2-small (random f32
// weights, CPU engine, all cores) with 1, 4, 16 and 64 concurrent streams:
// aggregate tokens/s, time to first token p50/p99, peak RSS. Every stream
// asks for 64 tokens of a 30-token prompt (no stop token, so every answer
// is 64 tokens); the batch holds all the streams. It also measures the
// machine's copy bandwidth in the same run. When node-llama-cpp is
// installed (npm ci in tools/llamacpp), llama.cpp decodes the same prompts
// from the same weights (an f32 GGUF) with the same threads and as many
// sequences in one context, interleaved with the server's rounds
// (tools/llamacpp/parallel.mjs). Run with
//
//	MINIMIND_SERVE_BENCH=1 go test ./serve -run TestConcurrencyTable -v
func TestConcurrencyTable(t *testing.T) {
	if os.Getenv("MINIMIND_SERVE_BENCH") == "" {
		t.Skip("set MINIMIND_SERVE_BENCH=1 to measure (about a minute)")
	}
	const tokens = 64
	threads := runtime.NumCPU()
	if n, err := strconv.Atoi(os.Getenv("MINIMIND_SERVE_BENCH_THREADS")); err == nil && n > 0 {
		threads = n
	}
	bot := randomBot(t, "minimind2-small", threads)
	t.Logf("%d engine threads (ours and llama.cpp's) on %d cores", threads, runtime.NumCPU())
	t.Logf("copy bandwidth %.1f GB/s (read + write, 256 MiB)", copyBandwidth())
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("MINIMIND_SERVE_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	counts := []int{1, 4, 16, 64}
	if v := os.Getenv("MINIMIND_SERVE_BENCH_STREAMS"); v != "" {
		counts = counts[:0]
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(f)
			require.NoError(t, err, "MINIMIND_SERVE_BENCH_STREAMS")
			counts = append(counts, n)
		}
	}
	lc := newLlamaBench(t, bot, tokens, threads)
	best := make([]benchRow, len(counts))
	theirs := make([]llamaRow, len(counts))
	for range rounds { // interleaved, best of each: the machine is shared
		for k, streams := range counts {
			if r := benchStreams(t, bot, streams, tokens); r.agg > best[k].agg {
				best[k] = r
			}
			if lc != nil && streams <= 16 { // llama.cpp's server is compared at -np 16
				if r := lc.run(t, streams); r.AggTPS > theirs[k].AggTPS {
					theirs[k] = r
				}
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("best of %d interleaved rounds; load average at the end: %s", rounds, strings.TrimSpace(string(load)))
	t.Logf("| streams | aggregate tokens/s | × one stream | per stream tokens/s | TTFT p50 | TTFT p99 | peak RSS | llama.cpp aggregate tokens/s | × one sequence | ours / llama.cpp | llama.cpp TTFT p50 | llama.cpp RSS |")
	t.Logf("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for k, r := range best {
		l := theirs[k]
		if l.AggTPS == 0 {
			t.Logf("| %d | %.0f | %.1f× | %.1f | %v | %v | %d MiB | — | — | — | — | — |", counts[k], r.agg, r.agg/best[0].agg, r.agg/float64(counts[k]),
				r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.rss>>20)
			continue
		}
		t.Logf("| %d | %.0f | %.1f× | %.1f | %v | %v | %d MiB | %.0f | %.1f× | %.2f× | %.0f ms | %.0f MB |", counts[k], r.agg, r.agg/best[0].agg, r.agg/float64(counts[k]),
			r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.rss>>20,
			l.AggTPS, l.AggTPS/theirs[0].AggTPS, r.agg/l.AggTPS, l.TTFTP50, l.RSSMB)
	}
}

// llamaBench runs tools/llamacpp/parallel.mjs on an f32 GGUF export of the
// benchmark's weights.
type llamaBench struct {
	script, gguf, dir string
	bot               *chat.Bot
	tokens, threads   int
}

// llamaRow is parallel.mjs's answer.
type llamaRow struct {
	AggTPS  float64 `json:"agg_tps"`
	TTFTP50 float64 `json:"ttft_p50_ms"`
	TTFTP99 float64 `json:"ttft_p99_ms"`
	RSSMB   float64 `json:"rss_mb"`
}

// newLlamaBench writes the GGUF, or returns nil (with a message) when
// node-llama-cpp is not installed.
func newLlamaBench(t *testing.T, bot *chat.Bot, tokens, threads int) *llamaBench {
	if _, err := os.Stat("../tools/llamacpp/node_modules/node-llama-cpp"); err != nil {
		t.Log("llama.cpp column left out: npm ci in tools/llamacpp to measure it")
		return nil
	}
	c, w := randomWeights(t, "minimind2-small")
	dir := t.TempDir()
	path := filepath.Join(dir, "minimind2-small-f32.gguf")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, gguf.Export(f, c, w, bot.Tok, gguf.ExportOptions{Type: gguf.F32}))
	require.NoError(t, f.Close())
	script, err := filepath.Abs("../tools/llamacpp/parallel.mjs")
	require.NoError(t, err)
	return &llamaBench{script: script, gguf: path, dir: dir, bot: bot, tokens: tokens, threads: threads}
}

// run decodes the benchmark's first n prompts as n sequences of one
// llama.cpp context with l.threads threads.
func (l *llamaBench) run(t *testing.T, n int) llamaRow {
	prompts := make([][]int32, n)
	for i := range prompts {
		ids, err := l.bot.Prompt([]tokenizer.Message{{Role: "user", Content: benchPrompt(i)}}, false)
		require.NoError(t, err)
		prompts[i] = ids
	}
	data, _ := json.Marshal(prompts)
	file := filepath.Join(l.dir, fmt.Sprintf("prompts-%d.json", n))
	require.NoError(t, os.WriteFile(file, data, 0o644))
	out, err := exec.Command("node", l.script, l.gguf, fmt.Sprint(l.threads), file, fmt.Sprint(l.tokens)).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("parallel.mjs: %v: %s", err, ee.Stderr)
	}
	require.NoError(t, err)
	var r llamaRow
	require.NoError(t, json.Unmarshal(out, &r), "%s", out)
	return r
}

// benchPrompt is stream i's question.
func benchPrompt(i int) string {
	return fmt.Sprintf("Request %d: tell me a short story about the sea and the sky.", i)
}

type benchRow struct {
	agg      float64 // tokens/s over all streams
	p50, p99 time.Duration
	rss      int64
}

// benchStreams runs streams concurrent streaming requests of tokens tokens.
func benchStreams(t *testing.T, bot *chat.Bot, streams, tokens int) benchRow {
	srv := serve.NewLM(serve.ModelLM{M: bot.Model}, bot.Tok, nil, serve.Options{MaxTokens: tokens,
		Scheduler: serve.SchedulerOptions{MaxBatch: streams, MaxQueue: streams}})
	ts := httptest.NewServer(srv)
	defer srv.Close()
	defer ts.Close()
	runtime.GC()
	rss := newRSSWatch()
	ttft := make([]time.Duration, streams)
	got := make([]int, streams)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"model": modelID, "stream": true, "max_tokens": tokens, "temperature": 0,
				"messages": []map[string]any{{"role": "user", "content": benchPrompt(i)}}})
			t0 := time.Now()
			resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok || line == "[DONE]" {
					continue
				}
				if ttft[i] == 0 && (strings.Contains(line, `"content":"`) && !strings.Contains(line, `"content":""`) || strings.Contains(line, `"reasoning_content"`)) {
					ttft[i] = time.Since(t0)
				}
				if strings.Contains(line, `"finish_reason":"length"`) {
					got[i] = tokens
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	peak := rss.stop()
	total := 0
	for _, n := range got {
		total += n
	}
	require.Equal(t, streams*tokens, total, "every stream got its tokens")
	slices.Sort(ttft)
	return benchRow{agg: float64(total) / wall.Seconds(), p50: ttft[len(ttft)/2], p99: ttft[(len(ttft)*99)/100], rss: peak}
}

// copyBandwidth times copying 256 MiB a few times and returns GB/s counting
// the bytes read and written.
func copyBandwidth() float64 {
	src, dst := make([]byte, 256<<20), make([]byte, 256<<20)
	copy(dst, src) // touch the pages
	best := time.Duration(1 << 62)
	for range 3 {
		t0 := time.Now()
		copy(dst, src)
		best = min(best, time.Since(t0))
	}
	runtime.KeepAlive(dst)
	return 2 * float64(len(src)) / best.Seconds() / 1e9
}

// rssWatch samples the process's resident memory.
type rssWatch struct {
	peak atomic.Int64
	quit chan struct{}
	done chan struct{}
}

func newRSSWatch() *rssWatch {
	w := &rssWatch{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			if v := rss(); v > w.peak.Load() {
				w.peak.Store(v)
			}
			select {
			case <-w.quit:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *rssWatch) stop() int64 {
	close(w.quit)
	<-w.done
	return w.peak.Load()
}

// rss reads VmRSS from /proc/self/status (0 where there is none).
func rss() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
