package serve_test

import (
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/serve"
	"github.com/minimind-go/minimind/tokenizer"
)

// loadTokenizer returns MiniMind-3's tokenizer (chat template with tools
// and thinking).
func loadTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.LoadFS(os.DirFS("../testdata/minimind/minimind3"), ".")
	require.NoError(t, err)
	return tok
}

// scriptLM is an LM that answers every prompt with the same tokens (then
// <|im_end|>), whatever the sampling: its logits put all the mass on the
// next scripted token. It records the prompts and what it frees.
type scriptLM struct {
	reply []int32
	eos   int32
	vocab int
	delay atomic.Int64 // nanoseconds per step

	mu      sync.Mutex
	prompts [][]int32
	freed   atomic.Int64
	maxStep atomic.Int64
	srv     *serve.Server
}

type scriptSeq struct {
	n      int // tokens produced
	prompt []int32
}

func (l *scriptLM) NewSeq(capacity int) serve.Seq { return &scriptSeq{} }

func (l *scriptLM) logits(n int) []float32 {
	out := make([]float32, l.vocab) // [V]
	id := l.eos
	if n < len(l.reply) {
		id = l.reply[n]
	}
	out[id] = 100
	return out
}

func (l *scriptLM) Prefill(s serve.Seq, ids []int32) ([]float32, error) {
	sq := s.(*scriptSeq)
	sq.prompt = append(sq.prompt, ids...)
	l.mu.Lock()
	l.prompts = append(l.prompts, append([]int32(nil), sq.prompt...))
	l.mu.Unlock()
	return l.logits(0), nil
}

func (l *scriptLM) Step(seqs []serve.Seq, ids []int32) ([][]float32, error) {
	time.Sleep(time.Duration(l.delay.Load()))
	if int64(len(seqs)) > l.maxStep.Load() {
		l.maxStep.Store(int64(len(seqs)))
	}
	out := make([][]float32, len(seqs))
	for i, s := range seqs {
		sq := s.(*scriptSeq)
		sq.n++
		out[i] = l.logits(sq.n)
	}
	return out, nil
}

func (l *scriptLM) Free(s serve.Seq) { l.freed.Add(1) }

func (l *scriptLM) MaxPositions() int { return 4096 }

// lastPrompt returns the text of the last prompt prefilled completely.
func (l *scriptLM) lastPrompt(tok *tokenizer.Tokenizer) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return tok.Decode(l.prompts[len(l.prompts)-1])
}

// scripted starts a server whose model always answers reply.
func scripted(t *testing.T, reply string, opt serve.Options) (*httptest.Server, *scriptLM, *tokenizer.Tokenizer) {
	t.Helper()
	tok := loadTokenizer(t)
	eos, ok := tok.TokenToID("<|im_end|>")
	require.True(t, ok)
	lm := &scriptLM{reply: tok.Encode(reply), eos: eos, vocab: tok.VocabSize()}
	srv := serve.NewLM(lm, tok, []int32{eos}, opt)
	lm.srv = srv
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts, lm, tok
}

// client is an OpenAI SDK client for ts (no retries, so that errors show).
func client(ts *httptest.Server, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{option.WithBaseURL(ts.URL + "/v1/"),
		option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)...)
	return &c
}
