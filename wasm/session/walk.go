package session

import (
	"errors"
	"fmt"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/tokenizer"
)

// MaxWalkTokens bounds the prompt of Walk: its detailed trace holds every
// layer's activations (the SwiGLU parts [T, F] four times, the attention maps
// [H, T, T] twice) and the logits with their probabilities ([T, V] twice):
// 58.8 MB for minimind2-small at this length, 16.3 MB for the Zero model.
const MaxWalkTokens = 128

// StepInfo names a recorded step and gives its shape.
type StepInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// RopeInfo holds the rotary embedding's frequencies of the model.
type RopeInfo struct {
	Theta float64 `json:"theta"`
	// Freqs are the model's hd/2 inverse frequencies (YaRN applied when the
	// config has it), Plain the same without YaRN.
	Freqs []float64 `json:"freqs"`
	Plain []float64 `json:"plain"`
	// AttentionFactor scales cos and sin (1 without YaRN).
	AttentionFactor float64 `json:"attentionFactor"`
	// Scaling is the model's YaRN setting (nil without); Example is
	// MiniMind's default YaRN (factor 16 from 2048 positions) applied to this
	// model's head size, to show what YaRN changes.
	Scaling *model.RopeScaling `json:"scaling"`
	Example struct {
		Scaling *model.RopeScaling `json:"scaling"`
		Freqs   []float64          `json:"freqs"`
	} `json:"example"`
}

// Walk is a traced forward pass kept for a tutorial: the prompt's tokens,
// the detailed trace of the prefill (model.Trace with Detail), then the trace
// of one decode step over the KV cache with the greedy next token (steps
// named "next.…"). The steps' data stay here; Step hands one out on demand.
type Walk struct {
	Tokens
	// Next is the greedy next token and NextPiece its text; Decoded reports
	// whether the decode step was traced (false when the model's positions
	// are full).
	Next      int32      `json:"next"`
	NextPiece string     `json:"nextPiece"`
	Decoded   bool       `json:"decoded"`
	Steps     []StepInfo `json:"steps"`
	Rope      RopeInfo   `json:"rope"`
	Engine    string     `json:"engine"`
	// TraceMs is the time the two traced passes took.
	TraceMs float64 `json:"traceMs"`
	trace   *model.Trace
}

// Step returns the recorded step of that name.
func (w *Walk) Step(name string) (model.TraceStep, bool) {
	if s := w.trace.Step(name); s != nil {
		return *s, true
	}
	return model.TraceStep{}, false
}

// Walk traces ids (at most MaxWalkTokens) in detail, then the greedy next
// token's decode step over the KV cache the prefill filled.
func (s *Session) Walk(ids []int32) (*Walk, error) {
	switch {
	case len(ids) == 0:
		return nil, errors.New("session: walk: no tokens (type a prompt)")
	case len(ids) > MaxWalkTokens:
		return nil, fmt.Errorf("session: walk: the prompt has %d tokens; the tutorial traces at most %d (shorten it)", len(ids), MaxWalkTokens)
	}
	for _, id := range ids {
		if id < 0 || int(id) >= s.info.Vocab {
			return nil, fmt.Errorf("session: walk: token id %d is outside the vocabulary (%d)", id, s.info.Vocab)
		}
	}
	m := s.bot.Model
	e := m.Engine
	start := time.Now()
	T := len(ids)
	capacity := min(T+1, m.Config.MaxPos)
	cache := m.NewCache(1, capacity)
	defer cache.Free(e)
	tr := &model.Trace{Detail: true}
	logits, err := m.Forward(ids, 1, model.ForwardOptions{Cache: cache, Trace: tr})
	if err != nil {
		return nil, err
	}
	e.Free(logits)
	w := &Walk{Tokens: s.pieces(ids), Engine: e.Name(), trace: tr}
	last := tr.Step("logits").Data[(T-1)*m.Config.Vocab:]
	w.Next = model.Argmax(last)
	w.NextPiece = s.bot.Tok.Decode([]int32{w.Next})
	if T < capacity {
		next := &model.Trace{Detail: true, Prefix: "next."}
		logits, err := m.Forward([]int32{w.Next}, 1, model.ForwardOptions{Cache: cache, Trace: next})
		if err != nil {
			return nil, err
		}
		e.Free(logits)
		tr.Steps = append(tr.Steps, next.Steps...)
		w.Decoded = true
	}
	if ee, ok := e.(interface{ Err() error }); ok && ee.Err() != nil {
		return nil, fmt.Errorf("the %s engine failed: %w", e.Name(), ee.Err())
	}
	w.TraceMs = ms(time.Since(start))
	for _, st := range tr.Steps {
		w.Steps = append(w.Steps, StepInfo{Name: st.Name, Shape: st.Shape})
	}
	w.Rope = ropeInfo(m.Config)
	return w, nil
}

func ropeInfo(c model.Config) RopeInfo {
	r := RopeInfo{Theta: c.RopeTheta, Scaling: c.RopeScaling}
	r.Freqs, r.AttentionFactor = c.RopeFreqs()
	plain := c
	plain.RopeScaling = nil
	r.Plain, _ = plain.RopeFreqs()
	ex := c
	ex.RopeScaling = model.DefaultYaRN()
	ex.MaxPos = ex.RopeScaling.OriginalMaxPositionEmbeddings * int(ex.RopeScaling.Factor)
	r.Example.Scaling = ex.RopeScaling
	r.Example.Freqs, _ = ex.RopeFreqs()
	return r
}

// ExplainMerges shows the BPE merges of each word of text (see
// tokenizer.Tokenizer.ExplainMerges).
func (s *Session) ExplainMerges(text string) []tokenizer.WordMerges {
	return s.bot.Tok.ExplainMerges(text)
}

// Pieces returns the text of each id on its own (a piece that ends inside a
// UTF-8 character shows U+FFFD); ids outside the vocabulary give "".
func (s *Session) Pieces(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if id >= 0 && int(id) < s.info.Vocab {
			out[i] = s.bot.Tok.Decode([]int32{id})
		}
	}
	return out
}
