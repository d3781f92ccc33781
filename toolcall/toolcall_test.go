package toolcall

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []Call
	}{
		{"one call", "<tool_call>\n{\"name\": \"calculate_math\", \"arguments\": {\"expression\": \"1+2\"}}\n</tool_call>",
			[]Call{{Name: "calculate_math", Arguments: map[string]any{"expression": "1+2"}}}},
		{"arguments as a string", `<tool_call>{"name":"lookup","arguments":"{\"query\": \"dog\"}"}</tool_call>`,
			[]Call{{Name: "lookup", Arguments: map[string]any{"query": "dog"}}}},
		{"two calls, text around", `a <tool_call>{"name":"x"}</tool_call> b <tool_call>{"name":"y","arguments":{}}</tool_call> c`,
			[]Call{{Name: "x", Arguments: map[string]any{}}, {Name: "y", Arguments: map[string]any{}}}},
		{"invalid JSON skipped", `<tool_call>{"name": </tool_call><tool_call>{"name":"ok"}</tool_call>`,
			[]Call{{Name: "ok", Arguments: map[string]any{}}}},
		{"unclosed", `<tool_call>{"name":"x"}`, nil},
		{"not an object", `<tool_call>[1,2]</tool_call>`, nil},
		{"name not a string", `<tool_call>{"name": 3}</tool_call>`, []Call{{Arguments: map[string]any{}}}},
		{"bad argument string", `<tool_call>{"name":"x","arguments":"nope"}</tool_call>`, []Call{{Name: "x", Arguments: map[string]any{}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Parse(tc.text))
		})
	}
	assert.Equal(t, 1, TagImbalance("<tool_call>x"))
	assert.Equal(t, 0, TagImbalance("<tool_call>x</tool_call>"))
	assert.Equal(t, 2, TagImbalance("</tool_call></tool_call>"))
}

// FuzzParse feeds malformed <tool_call> text: Parse never panics, every call
// it returns came from a closed block, and re-encoding a call parses back.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<tool_call>{"name":"calculate_math","arguments":{"expression":"2*3"}}</tool_call>`,
		`<tool_call>{"name":"x","arguments":"{\"a\":1}"}</tool_call><tool_call>`,
		`</tool_call><tool_call>{</tool_call>`,
		"<tool_call>\n{\"name\": \"unit_converter\", \"arguments\": {\"value\": 3, \"from_unit\": \"km\", \"to_unit\": \"miles\"}}\n</tool_call>",
		`<tool_call>{"name":null,"arguments":null}</tool_call>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		calls := Parse(s)
		if len(calls) > strings.Count(s, closeTag) {
			t.Fatalf("%d calls from %d closing tags", len(calls), strings.Count(s, closeTag))
		}
		for _, c := range calls {
			if c.Arguments == nil {
				t.Fatal("nil arguments")
			}
			if !utf8.ValidString(c.Name) {
				continue
			}
			b, err := json.Marshal(c)
			if err != nil {
				continue // NaN-free JSON always marshals; skip exotic values
			}
			back := Parse(openTag + string(b) + closeTag)
			if len(back) != 1 || back[0].Name != c.Name {
				t.Fatalf("round trip of %s gave %v", b, back)
			}
		}
		_ = TagImbalance(s)
	})
}

func TestEval(t *testing.T) {
	tests := []struct {
		expr string
		want float64
		err  bool
	}{
		{"1+2*3", 7, false},
		{"(1+2)*3", 9, false},
		{"2^3^2", 512, false},
		{"2**10", 1024, false},
		{"-3 + +4", 1, false},
		{"10 ÷ 4", 2.5, false},
		{"3×（2+1）", 9, false},
		{"1,000 + 1", 1001, false},
		{"7 % 4", 3, false},
		{"1/0", 0, true},
		{"2 +", 0, true},
		{"os.system('x')", 0, true},
		{"__import__", 0, true},
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), 0, true},
		{"1e400", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			v, err := Eval(tc.expr)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tc.want, v, 1e-12)
		})
	}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		v        float64
		from, to string
		want     float64
	}{
		{10, "km", "miles", 6.2137119},
		{1, "mile", "km", 1.609344},
		{100, "celsius", "fahrenheit", 212},
		{32, "F", "C", 0},
		{0, "C", "K", 273.15},
		{2, "kg", "pounds", 4.4092452},
		{3, "feet", "m", 0.9144},
	}
	for _, tc := range tests {
		got, err := Convert(tc.v, tc.from, tc.to)
		require.NoError(t, err)
		assert.InDelta(t, tc.want, got, 1e-6, "%v %s → %s", tc.v, tc.from, tc.to)
	}
	_, err := Convert(1, "kg", "km")
	require.Error(t, err)
	_, err = Convert(1, "parsec", "km")
	require.Error(t, err)
}

// hang is a tool that never returns on its own.
type hang struct{ stopped chan struct{} }

func (hang) Name() string              { return "hang" }
func (hang) Schema() json.RawMessage   { return schema("hang", "never returns", nil) }
func (hang) Check(map[string]any) bool { return true }
func (h hang) Run(ctx context.Context, _ map[string]any) (any, error) {
	<-ctx.Done()
	close(h.stopped)
	select {} // keeps hanging even after the context ends
}

func TestSetRun(t *testing.T) {
	s := NewSet(Calculator{}, UnitConverter{}, NewLookup(map[string]string{"Dog": "a domestic canine"}))
	assert.Equal(t, []string{"calculate_math", "lookup", "unit_converter"}, s.Names())
	ctx := context.Background()
	out, err := s.Run(ctx, Call{Name: "calculate_math", Arguments: map[string]any{"expression": "6*7"}})
	require.NoError(t, err)
	assert.Equal(t, `{"result":"42"}`, out)
	out, err = s.Run(ctx, Call{Name: "unit_converter", Arguments: map[string]any{"value": 5.0, "from_unit": "km", "to_unit": "miles"}})
	require.NoError(t, err)
	assert.Equal(t, `{"result":3.1069}`, out)
	out, err = s.Run(ctx, Call{Name: "lookup", Arguments: map[string]any{"query": "dog"}})
	require.NoError(t, err)
	assert.Equal(t, `{"query":"dog","result":"a domestic canine"}`, out)
	out, err = s.Run(ctx, Call{Name: "rm", Arguments: map[string]any{}})
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, `{"error": "tool not found"}`, out)
	assert.True(t, s.Valid(Call{Name: "lookup", Arguments: map[string]any{"query": "x"}}))
	assert.False(t, s.Valid(Call{Name: "lookup", Arguments: map[string]any{}}))
	assert.False(t, s.Valid(Call{Name: "nope"}))
	s.MaxResult = 10
	out, _ = s.Run(ctx, Call{Name: "lookup", Arguments: map[string]any{"query": "dog"}})
	assert.Len(t, out, 10)
}

// TestHangingToolIsCutOff runs a tool that never returns: Run gives up at
// the time limit with ErrTimeout and the tool sees its context end.
func TestHangingToolIsCutOff(t *testing.T) {
	h := hang{stopped: make(chan struct{})}
	s := NewSet(h)
	s.Timeout = 50 * time.Millisecond
	start := time.Now()
	out, err := s.Run(context.Background(), Call{Name: "hang"})
	require.True(t, errors.Is(err, ErrTimeout), "error %v", err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Equal(t, `{"error":"timeout"}`, out)
	select {
	case <-h.stopped:
	case <-time.After(2 * time.Second):
		t.Fatal("the tool's context was not cancelled")
	}
}

// TestOnly checks a conversation's tools list: only the listed tools the
// set holds are callable; the others get the not-found result.
func TestOnly(t *testing.T) {
	all := NewSet(Calculator{}, UnitConverter{})
	all.Timeout = 3 * time.Second
	s := all.Only([]string{"calculate_math", "get_current_weather"})
	assert.Equal(t, []string{"calculate_math"}, s.Names())
	assert.Equal(t, all.Timeout, s.Timeout)
	assert.Equal(t, all.MaxResult, s.MaxResult)
	for _, name := range []string{"unit_converter", "get_current_weather"} {
		c := Call{Name: name, Arguments: map[string]any{"value": 1.0, "from_unit": "km", "to_unit": "miles", "location": "Paris"}}
		res, err := s.Run(context.Background(), c)
		require.ErrorIs(t, err, ErrNotFound, name)
		assert.Equal(t, `{"error": "tool not found"}`, res)
		assert.False(t, s.Valid(c), name)
	}
	res, err := s.Run(context.Background(), Call{Name: "calculate_math", Arguments: map[string]any{"expression": "6*7"}})
	require.NoError(t, err)
	assert.Contains(t, res, "42")
}

func TestSchemaName(t *testing.T) {
	for _, tc := range []struct {
		schema, name string
		ok           bool
	}{
		{`{"type":"function","function":{"name":"calculate_math","parameters":{}}}`, "calculate_math", true},
		{`{"name":"lookup"}`, "lookup", true},
		{`{"type":"function","function":{}}`, "", false},
		{`[1]`, "", false},
		{`{`, "", false},
	} {
		t.Run(tc.schema, func(t *testing.T) {
			n, err := SchemaName(json.RawMessage(tc.schema))
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.name, n)
		})
	}
}
