package reward

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/toolcall"
)

func TestRepPenalty(t *testing.T) {
	assert.Equal(t, 0.0, RepPenalty("a b"))
	assert.Equal(t, 0.0, RepPenalty("the cat sat on the mat"))
	// "a b c a b c": trigrams abc bca cab abc → 4, unique 3 → 0.25
	assert.InDelta(t, 0.25, RepPenalty("A b c a B c"), 1e-12)
	assert.InDelta(t, 0.5, RepPenalty(strings.Repeat("go ", 50)), 1e-12)
	// punctuation and CJK are tokens: "你好，你好，你好" → 你好 ， 你好 ， 你好
	assert.InDelta(t, 1.0/3, RepPenalty("你好，你好，你好"), 1e-12)
}

func TestRule(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, resp string
		want       float64
	}{
		{"short", "hi", -0.5},
		{"good length", "A dog is a domestic animal.", 0.5},
		{"think ok", "I should define the word carefully.</think>A dog is a domestic animal.", 0.5 + 1 + 0.25},
		{"think too short", "hmm</think>A dog is a domestic animal.", 0.5 - 0.5 + 0.25},
		{"two closers", "I should define the word carefully.</think>x</think>A dog is a domestic animal.", 0.5 + 1 - 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rule{}.Score(ctx, Sample{Response: tc.resp})
			require.NoError(t, err)
			assert.InDelta(t, tc.want, got, 1e-12)
		})
	}
}

func TestVerifiable(t *testing.T) {
	ctx := context.Background()
	s := Sample{Response: "<think>\nok\n</think>\n\nA Canine kept as a pet.", GT: []string{"canine", "wolf"}}
	v, _ := Contains{}.Score(ctx, s)
	assert.Equal(t, 1.0, v)
	s.GT = []string{"nine"} // inside a word: no
	v, _ = Contains{}.Score(ctx, s)
	assert.Equal(t, 0.0, v)
	v, _ = Exact{}.Score(ctx, Sample{Response: "  Paris. ", GT: []string{"paris"}})
	assert.Equal(t, 1.0, v)
	v, _ = Exact{}.Score(ctx, Sample{Response: "Paris is it", GT: []string{"paris"}})
	assert.Equal(t, 0.0, v)

	tools := toolcall.NewSet(toolcall.Calculator{})
	call := `<tool_call>{"name":"calculate_math","arguments":{"expression":"1+1"}}</tool_call>`
	v, _ = ValidToolCall{}.Score(ctx, Sample{Response: call, Tools: tools})
	assert.Equal(t, 1.0, v)
	v, _ = ValidToolCall{}.Score(ctx, Sample{Response: `<tool_call>{"name":"calculate_math","arguments":{}}</tool_call>`, Tools: tools})
	assert.Equal(t, 0.0, v)

	sum := Sum{{2, Contains{}}, {0.5, Rule{}}}
	v, err := sum.Score(ctx, Sample{Response: "A canine kept as a pet by people.", GT: []string{"canine"}})
	require.NoError(t, err)
	assert.InDelta(t, 2+0.25, v, 1e-12)
}

func TestAgent(t *testing.T) {
	ctx := context.Background()
	tools := toolcall.NewSet(toolcall.Calculator{}, toolcall.UnitConverter{})
	call := `<tool_call>{"name":"calculate_math","arguments":{"expression":"6*7"}}</tool_call>`
	tests := []struct {
		name string
		s    Sample
		want float64
	}{
		{"right call and answer", Sample{Turns: []string{call, "The answer is 42."}, GT: []string{"42"}, Tools: tools}, 0.5 + 2.5},
		{"right call, wrong answer", Sample{Turns: []string{call, "The answer is 41."}, GT: []string{"42"}, Tools: tools}, 0.5},
		{"unfinished", Sample{Turns: []string{call, call, call}, GT: []string{"42"}, Tools: tools, Unfinished: true}, -0.5*2 - 0.5 - RepPenalty(call)},
		{"unbalanced tag", Sample{Turns: []string{"<tool_call> oops", "It is 42, 1,000"}, GT: []string{"1000"}, Tools: tools,
			Response: "It is 42, 1,000"}, -0.5 + 0.5}, // no complete call: the rule part
		{"invalid call", Sample{Turns: []string{`<tool_call>{"name":"rm","arguments":{}}</tool_call>`, "done: 3.0"}, GT: []string{"3"}, Tools: tools},
			-0.5*2 + 2.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Agent{}.Score(ctx, tc.s)
			require.NoError(t, err)
			assert.InDelta(t, tc.want, got, 1e-12)
		})
	}
	assert.Equal(t, 2, FoundGT("it costs 1,234.5 and 7", []string{"1234.5", "7", "8"}))
	assert.Equal(t, 0, FoundGT("v15", []string{"1.5"}))
	assert.Equal(t, 1, FoundGT("total: 2,500.0", []string{"2500"}))
}

func TestHTTP(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.Write([]byte(`{"score": 7.5}`))
	}))
	defer srv.Close()
	v, err := HTTP{URL: srv.URL}.Score(context.Background(), Sample{Response: "x</think>the answer"})
	require.NoError(t, err)
	assert.Equal(t, 3.0, v, "clamped to 3")
	assert.Equal(t, "the answer", got["answer"])

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"nope": 1}`)) }))
	defer bad.Close()
	_, err = HTTP{URL: bad.URL}.Score(context.Background(), Sample{})
	require.ErrorContains(t, err, "score")
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) }))
	defer fail.Close()
	_, err = HTTP{URL: fail.URL}.Score(context.Background(), Sample{})
	require.ErrorContains(t, err, "503")
}
