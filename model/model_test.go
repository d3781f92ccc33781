package model_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

func TestParamCounts(t *testing.T) {
	tests := []struct {
		preset string
		want   float64 // millions, as MINIMIND.md lists them
		tol    float64
	}{
		{"minimind2-small", 25.83, 0.005},
		{"minimind2", 104, 1},
		{"minimind2-moe", 145, 1},
		{"minimind3", 64, 1},
		{"minimind3-moe", 198, 1},
	}
	for _, tc := range tests {
		t.Run(tc.preset, func(t *testing.T) {
			c, err := model.Preset(tc.preset)
			if err != nil {
				t.Fatal(err)
			}
			got := float64(c.ParamCount()) / 1e6
			if math.Abs(got-tc.want) > tc.tol {
				t.Errorf("%s: %.3fM parameters, want %.2fM", tc.preset, got, tc.want)
			}
		})
	}
	c, _ := model.Preset("minimind3-moe")
	if a := float64(c.ActiveParamCount()) / 1e6; math.Abs(a-64) > 1.5 {
		t.Errorf("minimind3-moe active params %.2fM, want about 64M", a)
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	for _, name := range model.PresetNames() {
		t.Run(name, func(t *testing.T) {
			c, _ := model.Preset(name)
			data, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			back, err := model.ParseConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := mustJSON(t, c), mustJSON(t, back); a != b {
				t.Errorf("round trip changed the config:\n%s\n%s", a, b)
			}
			if back.ParamCount() != c.ParamCount() || back.Family != c.Family || back.Shared != c.Shared {
				t.Errorf("round trip changed the architecture: %+v vs %+v", back, c)
			}
		})
	}
}

func mustJSON(t *testing.T, c model.Config) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct{ name, json string }{
		{"not json", `{"hidden_size": `},
		{"zero hidden", `{"hidden_size":0,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10,"intermediate_size":8}`},
		{"bad gqa", `{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"vocab_size":10,"intermediate_size":8}`},
		{"bad topk", `{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10,"intermediate_size":8,"use_moe":true,"n_routed_experts":2,"num_experts_per_tok":3}`},
		{"bad rope scaling", `{"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10,"intermediate_size":8,"rope_scaling":{"type":"linear","factor":2}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := model.ParseConfig([]byte(tc.json)); err == nil {
				t.Errorf("ParseConfig accepted %s", tc.json)
			}
		})
	}
}

// tinyModel builds a model of the named preset with random weights.
func tinyModel(t testing.TB, preset string, seed uint64) *model.Model {
	t.Helper()
	c, err := model.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	w := model.InitWeights(c, seed)
	// Larger weights than the training init so the test sees non-trivial activations.
	for _, p := range c.Params(w) {
		d := (*p.Ptr).(*model.Host).Data
		for i := range d {
			if len(p.Shape) == 1 {
				d[i] += float32(math.Sin(float64(i))) * 0.1
			} else {
				d[i] *= 10
			}
		}
	}
	m, err := model.New(c, cpu.New(2), w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func maxRelErr(got, want []float32) float64 {
	var maxAbs, maxDiff float64
	for i := range want {
		maxAbs = math.Max(maxAbs, math.Abs(float64(want[i])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
	}
	if maxAbs == 0 {
		return maxDiff
	}
	return maxDiff / maxAbs
}

// TestPrefillDecodeEqualsRecompute checks that a KV-cache decode gives the
// logits of a full recompute, for every family.
func TestPrefillDecodeEqualsRecompute(t *testing.T) {
	ids := []int32{1, 17, 300, 4000, 25, 9, 6399, 42, 7, 2}
	for _, preset := range []string{"tiny", "tiny-moe", "tiny3", "tiny3-moe"} {
		t.Run(preset, func(t *testing.T) {
			m := tinyModel(t, preset, 7)
			e := m.Engine
			full, err := m.Forward(ids, 1, model.ForwardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := e.Read(full) // [T, V]
			V := m.Config.Vocab
			cache := m.NewCache(1, len(ids))
			// Prefill 4 tokens, then 3, then one at a time.
			for _, span := range [][2]int{{0, 4}, {4, 7}, {7, 8}, {8, 9}, {9, 10}} {
				l, err := m.Forward(ids[span[0]:span[1]], 1, model.ForwardOptions{Cache: cache})
				if err != nil {
					t.Fatal(err)
				}
				got := e.Read(l)
				if r := maxRelErr(got, want[span[0]*V:span[1]*V]); r > 1e-5 {
					t.Errorf("tokens %v: relative error %.2e vs full recompute", span, r)
				}
			}
			if _, err := m.Forward(ids[:1], 1, model.ForwardOptions{Cache: cache}); err == nil {
				t.Error("Forward past the cache capacity did not fail")
			}
		})
	}
}

func TestBatchEqualsSingle(t *testing.T) {
	m := tinyModel(t, "tiny3-moe", 3)
	a := []int32{5, 6, 7, 8, 9}
	b := []int32{100, 200, 300, 400, 500}
	both, err := m.Forward(append(append([]int32{}, a...), b...), 2, model.ForwardOptions{LastOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Engine.Read(both)
	V := m.Config.Vocab
	for i, seq := range [][]int32{a, b} {
		l, err := m.Forward(seq, 1, model.ForwardOptions{LastOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if r := maxRelErr(got[i*V:(i+1)*V], m.Engine.Read(l)); r > 1e-5 {
			t.Errorf("sequence %d: batched logits differ, relative error %.2e", i, r)
		}
	}
}

func TestForwardErrors(t *testing.T) {
	m := tinyModel(t, "tiny", 1)
	tests := []struct {
		name string
		ids  []int32
		b    int
		opt  model.ForwardOptions
	}{
		{"empty", nil, 1, model.ForwardOptions{}},
		{"id out of range", []int32{1, 6400}, 1, model.ForwardOptions{}},
		{"negative id", []int32{-1}, 1, model.ForwardOptions{}},
		{"uneven batch", []int32{1, 2, 3}, 2, model.ForwardOptions{}},
		{"trace with batch", []int32{1, 2}, 2, model.ForwardOptions{Trace: &model.Trace{}}},
		{"positions mismatch", []int32{1, 2}, 1, model.ForwardOptions{Positions: []int32{0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.Forward(tc.ids, tc.b, tc.opt); err == nil {
				t.Error("Forward accepted bad input")
			}
		})
	}
}

func TestTraceNames(t *testing.T) {
	m := tinyModel(t, "tiny-moe", 1)
	tr := &model.Trace{}
	ids := []int32{1, 2, 3}
	if _, err := m.Forward(ids, 1, model.ForwardOptions{Trace: tr}); err != nil {
		t.Fatal(err)
	}
	want := []string{"embed"}
	for i := range m.Config.Layers {
		for _, s := range []string{"input_norm", "q", "k", "v", "attn_scores", "attn_probs", "attn_out", "resid_mid", "post_norm", "router", "ffn_out", "resid_out"} {
			want = append(want, "layers."+string(rune('0'+i))+"."+s)
		}
	}
	want = append(want, "final_norm", "logits")
	got := tr.Names()
	if len(got) != len(want) {
		t.Fatalf("trace has %d steps %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d is %q, want %q", i, got[i], want[i])
		}
	}
	if s := tr.Step("layers.0.attn_probs"); s == nil || len(s.Data) != 4*3*3 {
		t.Errorf("attn_probs shape wrong: %+v", s.Shape)
	} else {
		// Row t has t+1 visible keys summing to 1; the rest are 0.
		for hh := range 4 {
			for q := range 3 {
				var sum float32
				for k := range 3 {
					v := s.Data[(hh*3+q)*3+k]
					if k > q && v != 0 {
						t.Errorf("masked prob [%d,%d,%d] = %v", hh, q, k, v)
					}
					sum += v
				}
				if math.Abs(float64(sum-1)) > 1e-5 {
					t.Errorf("probs row [%d,%d] sums to %v", hh, q, sum)
				}
			}
		}
	}
}

func TestGenerate(t *testing.T) {
	m := tinyModel(t, "tiny", 5)
	prompt := []int32{1, 10, 20, 30}
	opt := model.GenerateOptions{MaxTokens: 12, Sample: model.SampleOptions{Temperature: 0.8, TopK: 50, TopP: 0.9, RepetitionPenalty: 1.1}, Seed: 9, StopTokens: []int32{}}
	a, err := m.Generate(context.Background(), prompt, opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Generate(context.Background(), prompt, opt)
	if len(a) != 12 || len(b) != 12 {
		t.Fatalf("generated %d and %d tokens, want 12", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave different tokens: %v vs %v", a, b)
		}
	}
	// Greedy equals argmax of a full recompute at each step.
	g, err := m.Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: 6, StopTokens: []int32{}})
	if err != nil {
		t.Fatal(err)
	}
	seq := append([]int32{}, prompt...)
	for _, id := range g {
		l, _ := m.Forward(seq, 1, model.ForwardOptions{LastOnly: true})
		logits := m.Engine.Read(l)
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		if int32(best) != id {
			t.Fatalf("greedy token %d, full recompute argmax %d", id, best)
		}
		seq = append(seq, id)
	}
	// Streaming callback and early stop.
	var streamed []int32
	out, err := m.Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: 10, StopTokens: []int32{},
		OnToken: func(id int32) error {
			streamed = append(streamed, id)
			if len(streamed) == 3 {
				return model.ErrStopped
			}
			return nil
		}})
	if err != nil || len(out) != 3 || len(streamed) != 3 {
		t.Errorf("stop after 3: got %v, %v, err %v", out, streamed, err)
	}
	// Cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, prompt, model.GenerateOptions{MaxTokens: 5}); err == nil {
		t.Error("Generate ignored a cancelled context")
	}
}

func TestSamplerFilters(t *testing.T) {
	logits := func() []float32 { return []float32{0, 5, 4, 1, -2} }
	// TopK 1 is greedy whatever the temperature.
	s := model.NewSampler(model.SampleOptions{Temperature: 2, TopK: 1}, 1)
	for range 20 {
		if id := s.Sample(logits(), nil); id != 1 {
			t.Fatalf("top-k 1 sampled %d", id)
		}
	}
	// TopP small keeps only the best token.
	s = model.NewSampler(model.SampleOptions{Temperature: 1, TopP: 0.1}, 1)
	for range 20 {
		if id := s.Sample(logits(), nil); id != 1 {
			t.Fatalf("top-p 0.1 sampled %d", id)
		}
	}
	// TopK 2 only ever yields the two best.
	s = model.NewSampler(model.SampleOptions{Temperature: 1, TopK: 2}, 1)
	seen := map[int32]int{}
	for range 200 {
		seen[s.Sample(logits(), nil)]++
	}
	if len(seen) != 2 || seen[1] == 0 || seen[2] == 0 {
		t.Errorf("top-k 2 sampled %v", seen)
	}
	// A strong repetition penalty moves greedy off a repeated token.
	s = model.NewSampler(model.SampleOptions{RepetitionPenalty: 2}, 1)
	if id := s.Sample(logits(), []int32{1}); id != 2 {
		t.Errorf("repetition penalty: got %d, want 2", id)
	}
}
