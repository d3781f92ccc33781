package serve_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/serve"
)

// randomBot is a random model of preset with MiniMind-3's tokenizer. The
// layers' matrices are scaled up so that they, not the tied embedding,
// decide the next token.
func randomBot(t testing.TB, preset string, threads int) *chat.Bot {
	t.Helper()
	c, w := randomWeights(t, preset)
	m, err := model.New(c, cpu.New(threads), w)
	require.NoError(t, err)
	bot, err := chat.New(m, loadTokenizer(t))
	require.NoError(t, err)
	return bot
}

// randomWeights are randomBot's host weights.
func randomWeights(t testing.TB, preset string) (model.Config, *model.Weights) {
	t.Helper()
	c, err := model.Preset(preset)
	require.NoError(t, err)
	w := model.InitWeights(c, 3)
	for _, p := range c.Params(w) {
		if len(p.Shape) == 2 && p.Name != "model.embed_tokens.weight" {
			for i := range (*p.Ptr).(*model.Host).Data {
				(*p.Ptr).(*model.Host).Data[i] *= 8
			}
		}
	}
	return c, w
}

// countingLM records the largest batched step and, per sequence, its
// prompt and a hash of every logit it produced (bit for bit).
type countingLM struct {
	serve.LM
	maxStep atomic.Int64
	mu      sync.Mutex
	live    map[serve.Seq]*logitTrace
	done    []*logitTrace
}

type logitTrace struct {
	prompt []int32
	rows   int
	hash   hash.Hash64
}

func (l *countingLM) trace(s serve.Seq) *logitTrace {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.live == nil {
		l.live = map[serve.Seq]*logitTrace{}
	}
	tr := l.live[s]
	if tr == nil {
		tr = &logitTrace{hash: fnv.New64a()}
		l.live[s] = tr
	}
	return tr
}

func (tr *logitTrace) add(row []float32) {
	var b [4]byte
	for _, v := range row {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		tr.hash.Write(b[:])
	}
	tr.rows++
}

func (l *countingLM) Prefill(s serve.Seq, ids []int32) ([]float32, error) {
	row, err := l.LM.Prefill(s, ids)
	tr := l.trace(s)
	tr.prompt = append(tr.prompt, ids...)
	tr.add(row)
	return row, err
}

func (l *countingLM) Step(seqs []serve.Seq, ids []int32) ([][]float32, error) {
	if n := int64(len(seqs)); n > l.maxStep.Load() {
		l.maxStep.Store(n)
	}
	rows, err := l.LM.Step(seqs, ids)
	if err == nil {
		for i, s := range seqs {
			l.trace(s).add(rows[i])
		}
	}
	return rows, err
}

func (l *countingLM) Free(s serve.Seq) {
	l.mu.Lock()
	if tr := l.live[s]; tr != nil {
		l.done = append(l.done, tr)
		delete(l.live, s)
	}
	l.mu.Unlock()
	l.LM.Free(s)
}

// traces returns "rows:hash" of every finished sequence whose prompt is
// the longest one seen (the request under test), and forgets them all.
func (l *countingLM) traces(prompt int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, tr := range l.done {
		if len(tr.prompt) == prompt {
			out = append(out, fmt.Sprintf("%d:%x", tr.rows, tr.hash.Sum64()))
		}
	}
	l.done = nil
	return out
}

// TestBatchInvariance checks that a request's answer does not depend on
// the rest of the batch: greedy and seeded sampling give the same tokens
// alone and when the request joins 15 others that are decoding (a batch of
// 16), streamed or not.
func TestBatchInvariance(t *testing.T) {
	bot := randomBot(t, "tiny", 2)
	lm := &countingLM{LM: serve.ModelLM{M: bot.Model}}
	srv := serve.NewLM(lm, bot.Tok, bot.Stop, serve.Options{MaxTokens: 200, Scheduler: serve.SchedulerOptions{MaxBatch: 32}})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := client(ts)

	for _, tc := range []struct {
		name string
		temp float64
		topP float64
	}{
		{"greedy", 0, 1},
		{"seeded sampling", 1.0, 0.95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := userParams("Tell me a story about a brave little robot.")
			p.Temperature, p.TopP, p.Seed, p.MaxTokens = openai.Float(tc.temp), openai.Float(tc.topP), openai.Int(1234), openai.Int(24)
			alone, err := c.Chat.Completions.New(context.Background(), p)
			require.NoError(t, err)
			require.Greater(t, alone.Usage.CompletionTokens, int64(5), "a weak test: %q", alone.Choices[0].Message.Content)

			// 15 others are decoding when the request arrives.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			for i := range 15 {
				o := userParams(fmt.Sprintf("Question %d: %s", i, "why is the sky blue? "[:i+5]))
				o.Temperature, o.Seed, o.MaxTokens = openai.Float(0.8), openai.Int(int64(i)), openai.Int(200)
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := c.Chat.Completions.NewStreaming(ctx, o)
					for st.Next() {
					}
				}()
			}
			require.Eventually(t, func() bool {
				active, _, _ := srv.Scheduler().Stats()
				return active == 15
			}, 10*time.Second, time.Millisecond)
			var batched openai.ChatCompletion
			var streamed openai.ChatCompletion
			done := make(chan struct{})
			go func() {
				defer close(done)
				s, _, _ := streamAll(t, c, p)
				streamed = s
			}()
			batched2, err := c.Chat.Completions.New(context.Background(), p)
			require.NoError(t, err)
			batched = *batched2
			<-done
			cancel()
			wg.Wait()
			assert.GreaterOrEqual(t, lm.maxStep.Load(), int64(16), "the request decoded among 15 others or more")
			assert.Equal(t, alone.Choices[0].Message.Content, batched.Choices[0].Message.Content)
			assert.Equal(t, alone.Usage.CompletionTokens, batched.Usage.CompletionTokens)
			assert.Equal(t, alone.Choices[0].Message.Content, streamed.Choices[0].Message.Content)
			// Bit for bit: every logit of the request, alone and in the batch.
			tr := lm.traces(int(alone.Usage.PromptTokens))
			require.Len(t, tr, 3)
			assert.Equal(t, tr[0], tr[1])
			assert.Equal(t, tr[0], tr[2])
		})
	}
}
