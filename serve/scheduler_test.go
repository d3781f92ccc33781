package serve_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/serve"
)

// traceLM records the scheduler's calls in order: a prefill of n tokens as
// n, a batched step of k sequences as -k. Its logits always pick token 1.
type traceLM struct {
	mu  sync.Mutex
	log []int
}

func (l *traceLM) NewSeq(capacity int) serve.Seq { return new(int) }

func (l *traceLM) logits() []float32 {
	out := make([]float32, 8) // [V]
	out[1] = 1
	return out
}

func (l *traceLM) Prefill(s serve.Seq, ids []int32) ([]float32, error) {
	l.mu.Lock()
	l.log = append(l.log, len(ids))
	l.mu.Unlock()
	return l.logits(), nil
}

func (l *traceLM) Step(seqs []serve.Seq, ids []int32) ([][]float32, error) {
	time.Sleep(time.Millisecond)
	l.mu.Lock()
	l.log = append(l.log, -len(seqs))
	l.mu.Unlock()
	out := make([][]float32, len(seqs))
	for i := range out {
		out[i] = l.logits()
	}
	return out, nil
}

func (l *traceLM) Free(s serve.Seq) {}

func (l *traceLM) MaxPositions() int { return 4096 }

// TestPrefillDoesNotStall checks that long prompts joining a decoding
// request are prefilled a chunk at a time between the batched steps: the
// decoding request keeps getting a token after at most PrefillBudget prompt
// tokens, and the long prompts are spread over many steps.
func TestPrefillDoesNotStall(t *testing.T) {
	for _, tc := range []struct {
		name          string
		chunk, budget int
	}{
		{"defaults", 0, 0},
		{"chunk 32, budget 32", 32, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunk, budget := tc.chunk, tc.budget
			if chunk == 0 {
				chunk, budget = 64, 256
			}
			lm := &traceLM{}
			s := serve.NewScheduler(lm, serve.SchedulerOptions{MaxBatch: 8, PrefillChunk: tc.chunk, PrefillBudget: tc.budget})
			defer s.Close()
			ctx := context.Background()
			short, err := s.Submit(ctx, serve.Job{Prompt: []int32{1, 2, 3}, MaxTokens: 300})
			require.NoError(t, err)
			<-short                     // decoding now
			const long, longs = 1000, 6 // six long prompts join at once
			var longEv []<-chan serve.Event
			for range longs {
				ev, err := s.Submit(ctx, serve.Job{Prompt: make([]int32, long), MaxTokens: 2})
				require.NoError(t, err)
				longEv = append(longEv, ev)
			}
			count := func(ch <-chan serve.Event) (tokens int, finish string) {
				for ev := range ch {
					if ev.Done {
						require.NoError(t, ev.Err)
						return tokens, ev.Finish
					}
					tokens++
				}
				return tokens, ""
			}
			for _, ev := range longEv {
				n, finish := count(ev)
				assert.Equal(t, 2, n)
				assert.Equal(t, "length", finish)
			}
			n, finish := count(short)
			assert.Equal(t, 300-1, n, "the short request's tokens after its first")
			assert.Equal(t, "length", finish)

			lm.mu.Lock()
			log := append([]int(nil), lm.log...)
			lm.mu.Unlock()
			// The short prompt comes first; every later prefill is a long
			// prompt's. Between two steps: at most budget prompt tokens, in
			// chunks of at most chunk, and the short request keeps decoding
			// while the long prompt is prefilled.
			require.Equal(t, 3, log[0], "the short prompt is prefilled first")
			prefilled, between, gaps, maxGap, stepsDuring := 0, 0, 0, 0, 0
			for _, v := range log[1:] {
				if v > 0 {
					assert.LessOrEqual(t, v, chunk)
					prefilled += v
					between += v
					continue
				}
				if between > 0 {
					gaps++
				}
				maxGap = max(maxGap, between)
				between = 0
				if prefilled > 0 && prefilled < longs*long {
					stepsDuring++
				}
			}
			assert.Equal(t, longs*long, prefilled, "the whole long prompts were prefilled")
			assert.LessOrEqual(t, maxGap, budget, "prompt tokens between two steps")
			assert.GreaterOrEqual(t, gaps, (longs*long+budget-1)/budget, "the long prompts are spread over steps")
			assert.GreaterOrEqual(t, stepsDuring, (longs*long+budget-1)/budget-1, "the short request decodes while the long prompts are prefilled")
		})
	}
}
