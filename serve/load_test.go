package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/serve"
)

// sseResult is what a raw streaming client saw.
type sseResult struct {
	content, reasoning string
	finish             string
	done               bool // data: [DONE] arrived
	chunks             int
	err                error
}

// readSSE follows a streaming response; cancelAfter ≥ 0 cancels the request
// after that many chunks.
func readSSE(ctx context.Context, url string, body []byte, cancelAfter int, cancel context.CancelFunc) sseResult {
	var r sseResult
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		r.err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
		return r
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			r.done = true
			continue
		}
		var ch struct {
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					Reasoning string `json:"reasoning_content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Error any `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			r.err = fmt.Errorf("chunk %q: %w", line, err)
			return r
		}
		if ch.Error != nil {
			r.err = fmt.Errorf("error chunk %s", line)
			return r
		}
		r.chunks++
		for _, c := range ch.Choices {
			r.content += c.Delta.Content
			r.reasoning += c.Delta.Reasoning
			if c.FinishReason != nil {
				r.finish = *c.FinishReason
			}
		}
		if r.chunks == cancelAfter {
			cancel()
			return r
		}
	}
	r.err = sc.Err()
	return r
}

// seqCounter counts the sequences an LM opened and freed.
type seqCounter struct {
	serve.LM
	opened, freed atomic.Int64
}

func (l *seqCounter) NewSeq(n int) serve.Seq { l.opened.Add(1); return l.LM.NewSeq(n) }
func (l *seqCounter) Free(s serve.Seq)       { l.freed.Add(1); l.LM.Free(s) }

// TestLoad runs 64 concurrent streaming clients with random prompts and
// sampling settings against a real (random) model on loopback; a quarter of
// them disconnect at a random point. Every stream that was not cancelled
// ends with a finish_reason and [DONE], and its deltas joined equal the
// non-streamed answer for the same seed (no token lost or duplicated); the
// server answers GET /v1/models throughout, answers 16 bad requests sent
// meanwhile with 400, frees every sequence, and its heap stays bounded. The test is bounded to 64 clients, 48 tokens each and
// two minutes.
func TestLoad(t *testing.T) {
	const clients, maxTokens = 64, 48
	bot := randomBot(t, "tiny", 2)
	lm := &seqCounter{LM: serve.ModelLM{M: bot.Model}}
	srv := serve.NewLM(lm, bot.Tok, bot.Stop, serve.Options{MaxTokens: maxTokens, Scheduler: serve.SchedulerOptions{MaxBatch: 16, MaxQueue: clients}})
	defer srv.Close()
	ts := httptest.NewServer(srv) // 127.0.0.1
	defer ts.Close()
	require.True(t, strings.HasPrefix(ts.URL, "http://127.0.0.1:"), ts.URL)
	ctx, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	defer stop()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse
	baseGoroutines := runtime.NumGoroutine()

	// Watchers: /v1/models stays answered, and the heap is sampled.
	var peakHeap atomic.Uint64
	var modelsOK, modelsSlow atomic.Int64
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watchers sync.WaitGroup
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		for watchCtx.Err() == nil {
			start := time.Now()
			resp, err := http.Get(ts.URL + "/v1/models")
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					modelsOK.Add(1)
				}
			}
			if time.Since(start) > time.Second {
				modelsSlow.Add(1)
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	words := strings.Fields("the a robot sky blue why how tell me story about little brave cat ocean river star computer learn think")
	rng := rand.New(rand.NewPCG(14, 64))
	type spec struct {
		body        map[string]any
		cancelAfter int // -1: read to the end
		delay       time.Duration
	}
	specs := make([]spec, clients)
	for i := range specs {
		n := 1 + rng.IntN(40)
		var b strings.Builder
		for range n {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		body := map[string]any{"model": modelID, "stream": true,
			"messages":    []map[string]any{{"role": "user", "content": b.String()}},
			"temperature": []float64{0, 0.7, 1}[rng.IntN(3)], "seed": rng.IntN(1 << 30),
			"max_tokens": 4 + rng.IntN(maxTokens-3)}
		if rng.IntN(2) == 0 {
			body["chat_template_kwargs"] = map[string]any{"enable_thinking": true}
		}
		cancelAfter := -1
		if rng.IntN(4) == 0 {
			cancelAfter = rng.IntN(6) // 0: before the first chunk is read
		}
		specs[i] = spec{body, cancelAfter, time.Duration(rng.IntN(50)) * time.Millisecond}
	}
	results := make([]sseResult, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(sp.body)
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			if sp.cancelAfter == 0 {
				time.AfterFunc(sp.delay, cancel)
			}
			results[i] = readSSE(cctx, ts.URL+"/v1/chat/completions", body, sp.cancelAfter, cancel)
		}()
	}
	// Bad requests in the middle of it get their 400 and disturb nobody.
	var badWrong atomic.Int64
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []string{`{"model":`, `{"model":"minimind","messages":[]}`, `{"model":"minimind","messages":[{"role":"user","content":"x"}],"max_tokens":100000}`,
				`{"model":"minimind","messages":[{"role":"robot","content":"x"}],"stream":true}`}[i%4]
			resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil || resp.StatusCode != http.StatusBadRequest {
				badWrong.Add(1)
			}
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	assert.Zero(t, badWrong.Load(), "bad requests answered 400")
	require.NoError(t, ctx.Err(), "the load test ran out of time")

	cancelled, finished := 0, 0
	for i, sp := range specs {
		r := results[i]
		if sp.cancelAfter >= 0 {
			cancelled++
			continue
		}
		finished++
		require.NoError(t, r.err, "client %d", i)
		assert.True(t, r.done, "client %d: no [DONE]", i)
		assert.Contains(t, []string{"stop", "length"}, r.finish, "client %d", i)
		// The same request, not streamed, gives the same answer.
		sp.body["stream"] = false
		body, _ := json.Marshal(sp.body)
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		var whole struct {
			Choices []struct {
				Message struct {
					Content   *string `json:"content"`
					Reasoning string  `json:"reasoning_content"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&whole))
		resp.Body.Close()
		require.Len(t, whole.Choices, 1)
		m := whole.Choices[0].Message
		content := ""
		if m.Content != nil {
			content = *m.Content
		}
		assert.Equal(t, content, r.content, "client %d content", i)
		assert.Equal(t, m.Reasoning, r.reasoning, "client %d reasoning", i)
		assert.Equal(t, whole.Choices[0].FinishReason, r.finish, "client %d", i)
	}
	stopWatch()
	watchers.Wait()

	require.Eventually(t, func() bool {
		active, queued, _ := srv.Scheduler().Stats()
		return active == 0 && queued == 0 && lm.freed.Load() == lm.opened.Load()
	}, 5*time.Second, 10*time.Millisecond, "every sequence is freed")
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("%d clients (%d cancelled, %d finished) in %v; /v1/models answered %d times; heap %d MiB at start, peak %d MiB, %d MiB after",
		clients, cancelled, finished, elapsed.Round(time.Millisecond), modelsOK.Load(), baseHeap>>20, peakHeap.Load()>>20, ms.HeapInuse>>20)
	assert.Greater(t, cancelled, 4)
	assert.Greater(t, modelsOK.Load(), int64(5))
	assert.Zero(t, modelsSlow.Load(), "GET /v1/models took over a second")
	assert.Less(t, peakHeap.Load(), baseHeap+256<<20, "peak heap")
	assert.Less(t, ms.HeapInuse, baseHeap+32<<20, "heap after the load")
	ts.CloseClientConnections()
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseGoroutines+8 }, 5*time.Second, 10*time.Millisecond,
		"goroutines: %d before, %d after", baseGoroutines, runtime.NumGoroutine())
}
