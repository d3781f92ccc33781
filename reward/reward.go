// Package reward scores completions for MiniMind's reinforcement-learning
// stages: MiniMind's rule rewards (length, think-tag format, repetition
// penalty), verifiable rewards that need no model (an exact answer, an
// answer that contains an accepted term, a valid tool call), MiniMind's
// agent reward, a reward-model hook over HTTP, and weighted sums of them.
package reward

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"unicode"

	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/toolcall"
)

// Sample is one completion to score.
type Sample struct {
	// Messages is the conversation the completion answers.
	Messages []tokenizer.Message
	// Response is the completion's text (special tokens skipped; <think>
	// tags kept).
	Response string
	// GT lists the accepted answers or terms (verifiable rewards).
	GT []string
	// Agent stage: the text of every turn the model generated, whether the
	// last turn still called tools, and the tools offered.
	Turns      []string
	Unfinished bool
	Tools      *toolcall.Set
}

// Func scores a sample.
type Func interface {
	Score(ctx context.Context, s Sample) (float64, error)
}

// FuncOf adapts a function to Func.
type FuncOf func(ctx context.Context, s Sample) (float64, error)

// Score implements Func.
func (f FuncOf) Score(ctx context.Context, s Sample) (float64, error) { return f(ctx, s) }

// Term is one weighted part of a composed reward.
type Term struct {
	Weight float64
	Func   Func
}

// Sum is Σ weight·score over its terms.
type Sum []Term

// Score implements Func.
func (s Sum) Score(ctx context.Context, x Sample) (float64, error) {
	var r float64
	for _, t := range s {
		v, err := t.Func.Score(ctx, x)
		if err != nil {
			return 0, err
		}
		r += t.Weight * v
	}
	return r, nil
}

// words splits text as Python's re.findall(r"\w+|[^\w\s]", text.lower()):
// runs of letters, digits and underscores, and single other non-space
// characters.
func words(text string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.Is(unicode.Mn, r):
			cur = append(cur, r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			out = append(out, string(r))
		}
	}
	flush()
	return out
}

// RepPenalty is MiniMind's repetition penalty: the share of repeated word
// trigrams, min(0.5, (n − unique)/n), 0 without a trigram.
func RepPenalty(text string) float64 {
	w := words(text)
	n := len(w) - 2
	if n <= 0 {
		return 0
	}
	seen := map[[3]string]bool{}
	for i := range n {
		seen[[3]string{w[i], w[i+1], w[i+2]}] = true
	}
	return min(0.5, float64(n-len(seen))/float64(n))
}

// runeLen is Python's len() of a str.
func runeLen(s string) int { return len([]rune(s)) }

// SplitThink splits a response at its first </think>: the reasoning before
// it and the answer after it (trimmed). Without the tag the whole response
// is the answer.
func SplitThink(resp string) (think, answer string, ok bool) {
	i := strings.Index(resp, "</think>")
	if i < 0 {
		return "", strings.TrimSpace(resp), false
	}
	return resp[:i], strings.TrimSpace(resp[i+len("</think>"):]), true
}

// Rule is MiniMind's rule reward of PPO and GRPO (without the reward
// model): +0.5 if 20 ≤ len(response.strip()) ≤ 800 characters, else −0.5;
// with a </think>: +1 if 20 ≤ len(think.strip()) ≤ 300 else −0.5, +0.25 if
// exactly one </think> else −0.25; minus RepPenalty(answer).
type Rule struct{}

// Score implements Func.
func (Rule) Score(_ context.Context, s Sample) (float64, error) {
	return ruleScore(s.Response, 20), nil
}

func ruleScore(resp string, minLen int) float64 {
	var r float64
	n := runeLen(strings.TrimSpace(resp))
	if n >= minLen && n <= 800 {
		r += 0.5
	} else {
		r -= 0.5
	}
	think, answer, ok := SplitThink(resp)
	if ok {
		t := runeLen(strings.TrimSpace(think))
		if t >= 20 && t <= 300 {
			r += 1
		} else {
			r -= 0.5
		}
		if strings.Count(resp, "</think>") == 1 {
			r += 0.25
		} else {
			r -= 0.25
		}
	}
	return r - RepPenalty(answer)
}

// normalize lowercases and collapses spaces and trailing punctuation.
func normalize(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	return strings.TrimRight(s, ".。!！ ")
}

// Exact is 1 when the answer (after any </think>) equals one of GT,
// ignoring case, repeated spaces and final punctuation; else 0.
type Exact struct{}

// Score implements Func.
func (Exact) Score(_ context.Context, s Sample) (float64, error) {
	_, a, _ := SplitThink(s.Response)
	for _, g := range s.GT {
		if normalize(a) == normalize(g) {
			return 1, nil
		}
	}
	return 0, nil
}

// Contains is 1 when the answer contains one of GT as a word or the start
// of a word (so "canines" contains "canine"), ignoring case; else 0. The
// Zero corpus's definition questions are scored this way.
type Contains struct{}

// Score implements Func.
func (Contains) Score(_ context.Context, s Sample) (float64, error) {
	_, a, _ := SplitThink(s.Response)
	if ContainsAny(a, s.GT) {
		return 1, nil
	}
	return 0, nil
}

// ContainsAny reports whether text contains one of terms at a word start.
func ContainsAny(text string, terms []string) bool {
	lt := strings.ToLower(text)
	for _, t := range terms {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		for off := 0; ; {
			i := strings.Index(lt[off:], t)
			if i < 0 {
				break
			}
			i += off
			if i == 0 || !isWordRune(lastRune(lt[:i])) {
				return true
			}
			off = i + 1
		}
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

func lastRune(s string) rune {
	r := []rune(s)
	return r[len(r)-1]
}

// ValidToolCall is 1 when the response calls at least one tool and every
// call names an offered tool with its required arguments; else 0.
type ValidToolCall struct{}

// Score implements Func.
func (ValidToolCall) Score(_ context.Context, s Sample) (float64, error) {
	calls := toolcall.Parse(s.Response)
	if len(calls) == 0 || s.Tools == nil {
		return 0, nil
	}
	for _, c := range calls {
		if !s.Tools.Valid(c) {
			return 0, nil
		}
	}
	return 1, nil
}

// HTTP asks a reward model served over HTTP: it POSTs
// {"messages": [...], "answer": "..."} to URL and reads {"score": x} back;
// the score is clamped to [−3, 3] as MiniMind clamps its reward model's.
// MiniMind's reward model (InternLM2-1.8B-reward) can be served this way.
type HTTP struct {
	URL    string
	Client *http.Client // nil: http.DefaultClient
}

// Score implements Func.
func (h HTTP) Score(ctx context.Context, s Sample) (float64, error) {
	_, answer, _ := SplitThink(s.Response)
	body, err := json.Marshal(map[string]any{"messages": s.Messages, "answer": answer})
	if err != nil {
		return 0, fmt.Errorf("reward: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("reward: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("reward: %s: %w", h.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("reward: %s: %w", h.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("reward: %s: %s: %s", h.URL, resp.Status, strings.TrimSpace(string(data)))
	}
	var out struct {
		Score *float64 `json:"score"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.Score == nil || math.IsNaN(*out.Score) {
		return 0, fmt.Errorf("reward: %s: want {\"score\": number}, got %.200q", h.URL, data)
	}
	return min(3, max(-3, *out.Score)), nil
}

// Agent is MiniMind's agent-stage reward (train_agent.py), clipped to
// [−3, 3]: −0.5 per unbalanced <tool_call> tag over the turns; without any
// tool call, the rule reward with a 5-character minimum plus the reward
// model (RM, may be nil); with calls, +0.5 if the number of valid calls
// matches len(GT) and no call is invalid (else −0.5 per unit of gap),
// +2.5·(share of GT found in the final text), −0.5 if unfinished, minus
// the repetition penalty of the final text.
type Agent struct {
	RM Func
}

// Score implements Func.
func (a Agent) Score(ctx context.Context, s Sample) (float64, error) {
	turns := s.Turns
	if len(turns) == 0 {
		turns = []string{s.Response}
	}
	answers := make([]string, len(turns))
	var calls []toolcall.Call
	var r float64
	for i, t := range turns {
		_, answers[i], _ = SplitThink(t)
		calls = append(calls, toolcall.Parse(answers[i])...)
		r -= 0.5 * float64(toolcall.TagImbalance(answers[i]))
	}
	answer := answers[len(answers)-1]
	if len(calls) == 0 {
		// the rule part with MiniMind's agent length bound (5 characters)
		r += ruleScore(s.Response, 5)
		if a.RM != nil {
			v, err := a.RM.Score(ctx, s)
			if err != nil {
				return 0, err
			}
			r += v
		}
		return clamp3(r), nil
	}
	valid := 0
	for _, c := range calls {
		if s.Tools != nil && s.Tools.Valid(c) {
			valid++
		}
	}
	gap := abs(valid-len(s.GT)) + max(0, len(calls)-valid)
	if gap == 0 {
		r += 0.5
	} else {
		r -= 0.5 * float64(gap)
	}
	final := ""
	if !s.Unfinished {
		final = answer
		if i := strings.LastIndex(answer, "</tool_call>"); i >= 0 {
			final = answer[i+len("</tool_call>"):]
		}
	}
	if len(s.GT) > 0 {
		r += 2.5 * float64(FoundGT(final, s.GT)) / float64(len(s.GT))
	}
	if s.Unfinished {
		r -= 0.5
	}
	if final != "" {
		r -= RepPenalty(final)
	} else {
		r -= RepPenalty(answer)
	}
	return clamp3(r), nil
}

func answerOf(resp string) string {
	_, a, _ := SplitThink(resp)
	return a
}

// FoundGT counts the GT items found in text: a case-insensitive substring,
// or a number equal (within 1e-6) to a number in text (commas removed).
func FoundGT(text string, gt []string) int {
	lt := strings.ToLower(text)
	nums := numbers(strings.ReplaceAll(text, ",", ""))
	n := 0
	for _, g := range gt {
		s := strings.TrimSpace(g)
		if s != "" && strings.Contains(lt, strings.ToLower(s)) {
			n++
			continue
		}
		if v, ok := parseNumber(strings.ReplaceAll(s, ",", "")); ok {
			for _, x := range nums {
				if math.Abs(v-x) < 1e-6 {
					n++
					break
				}
			}
		}
	}
	return n
}

// numbers finds the numbers of text ([-+]?digits[.digits], not glued to
// letters, digits or dots).
func numbers(text string) []float64 {
	var out []float64
	rs := []rune(text)
	for i := 0; i < len(rs); {
		j := i
		if rs[j] == '-' || rs[j] == '+' {
			j++
		}
		k := j
		for k < len(rs) && unicode.IsDigit(rs[k]) {
			k++
		}
		if k == j || (i > 0 && (isWordRune(rs[i-1]) || rs[i-1] == '.')) {
			i++
			continue
		}
		if k+1 < len(rs) && rs[k] == '.' && unicode.IsDigit(rs[k+1]) {
			k++
			for k < len(rs) && unicode.IsDigit(rs[k]) {
				k++
			}
		}
		if k < len(rs) && (isWordRune(rs[k]) || rs[k] == '.') {
			i = k
			continue
		}
		if v, ok := parseNumber(string(rs[i:k])); ok {
			out = append(out, v)
		}
		i = k
	}
	return out
}

func parseNumber(s string) (float64, bool) {
	var v float64
	if _, err := fmt.Sscanf(s, "%g", &v); err != nil {
		return 0, false
	}
	// the whole string must be a plain decimal number
	for i, r := range s {
		if !(unicode.IsDigit(r) || r == '.' || ((r == '-' || r == '+') && i == 0)) {
			return 0, false
		}
	}
	return v, true
}

func clamp3(x float64) float64 { return min(3, max(-3, x)) }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
