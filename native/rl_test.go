package native

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

func TestGroupAdvantages(t *testing.T) {
	tests := []struct {
		name    string
		rewards []float64
		G       int
		want    []float64
	}{
		// mean 2, population std √(2/3) (the sample std would be 1).
		{"population std", []float64{1, 2, 3}, 3, []float64{-1 / (math.Sqrt(2.0/3) + 1e-4), 0, 1 / (math.Sqrt(2.0/3) + 1e-4)}},
		{"equal rewards give zero", []float64{0.5, 0.5, 2, 2}, 2, []float64{0, 0, 0, 0}},
		{"groups are separate", []float64{0, 2, 10, 30}, 2, []float64{-1 / (1 + 1e-4), 1 / (1 + 1e-4), -10 / (10 + 1e-4), 10 / (10 + 1e-4)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GroupAdvantages(tc.rewards, tc.G)
			require.NoError(t, err)
			assert.InDeltaSlice(t, tc.want, got, 1e-12)
		})
	}
	_, err := GroupAdvantages([]float64{1, 2, 3}, 2)
	require.Error(t, err)
}

func TestKL3(t *testing.T) {
	tests := []struct{ logp, ref, want float64 }{
		{-1, -1, 0},
		{-1, -2, math.Exp(-1) + 1 - 1}, // d = -1
		{-2, -1, math.E - 1 - 1},       // d = 1
	}
	for _, tc := range tests {
		assert.InDelta(t, tc.want, KL3(tc.logp, tc.ref), 1e-12)
		assert.GreaterOrEqual(t, KL3(tc.logp, tc.ref), 0.0)
		// the derivative by logp
		h := 1e-6
		fd := (KL3(tc.logp+h, tc.ref) - KL3(tc.logp-h, tc.ref)) / (2 * h)
		assert.InDelta(t, fd, kl3Grad(tc.logp, tc.ref), 1e-6)
	}
}

func TestEOSMask(t *testing.T) {
	assert.Equal(t, []float64{1, 1, 1, 0, 0}, EOSMask([]int32{5, 6, 2, 2, 7}, 2))
	assert.Equal(t, []float64{1, 1, 1}, EOSMask([]int32{5, 6, 7}, 2))
	assert.Equal(t, []float64{1, 0}, EOSMask([]int32{2, 2}, 2))
}

func TestGAE(t *testing.T) {
	// Reward 1 on the last of 3 positions, values (0.5, 0.25, 0.1), γ 1, λ 0.95.
	r := []float64{0, 0, 1}
	v := []float64{0.5, 0.25, 0.1}
	adv, ret := GAE(r, v, 1, 0.95)
	d2 := 1 - 0.1
	d1 := 0 + 0.1 - 0.25
	d0 := 0 + 0.25 - 0.5
	a2 := d2
	a1 := d1 + 0.95*a2
	a0 := d0 + 0.95*a1
	assert.InDeltaSlice(t, []float64{a0, a1, a2}, adv, 1e-12)
	assert.InDeltaSlice(t, []float64{a0 + 0.5, a1 + 0.25, a2 + 0.1}, ret, 1e-12)
	// λ = 1, γ = 1: the advantage is the return to go minus the value.
	adv, _ = GAE(r, v, 1, 1)
	assert.InDeltaSlice(t, []float64{0.5, 0.75, 0.9}, adv, 1e-12)
}

func TestWhiten(t *testing.T) {
	x := []float64{1, 3, 100, 5}
	Whiten(x, []float64{1, 1, 0, 1}) // mean 3, population var 8/3
	s := 1 / math.Sqrt(8.0/3+1e-8)
	assert.InDeltaSlice(t, []float64{-2 * s, 0, 0, 2 * s}, x, 1e-12)
}

func TestRLSchedule(t *testing.T) {
	s := RLSchedule{LR: 1, TMax: 4}
	assert.Equal(t, 1.0, s.At(0))
	assert.InDelta(t, 0.55, s.At(2), 1e-12)
	assert.InDelta(t, 0.1, s.At(4), 1e-12)
}

// TestTokenLoss checks each loss and its derivative by logp against finite
// differences, and the clipping behaviour.
func TestTokenLoss(t *testing.T) {
	tests := []struct {
		kind            LossKind
		logp, old, ref  float64
		adv             float64
		wantClip        bool
		wantZeroPGGrad  bool // the policy term's gradient is cut by the clip
		stopGradOnRatio bool // CISPO: the ratio is a constant
	}{
		{kind: GRPO, logp: -1, old: -1, ref: -1.2, adv: 0.7},
		{kind: GRPO, logp: -0.5, old: -1, ref: -1.2, adv: 0.7, wantClip: true, wantZeroPGGrad: true}, // ratio e^0.5 > 1.2, A > 0
		{kind: GRPO, logp: -0.5, old: -1, ref: -1.2, adv: -0.7},                                      // A < 0: unclipped term is the min
		{kind: PPO, logp: -1.5, old: -1, ref: -1.2, adv: -0.4, wantClip: true, wantZeroPGGrad: true},
		{kind: PPO, logp: -1.05, old: -1, ref: -0.9, adv: 0.4},
		{kind: CISPO, logp: -1, old: -1, ref: -1.3, adv: 0.9, stopGradOnRatio: true},
		{kind: CISPO, logp: 1, old: -1, ref: -1.3, adv: 0.9, wantClip: true, stopGradOnRatio: true}, // ratio e² > ε_high? no: 7.39 > 5
	}
	for _, tc := range tests {
		t.Run(tc.kind.String(), func(t *testing.T) {
			o := &PolicyLoss{Kind: tc.kind, Beta: 0.1, Eps: 0.2, EpsHigh: 5}
			_, d, clipped := o.TokenLoss(tc.logp, tc.old, tc.ref, tc.adv)
			assert.Equal(t, tc.wantClip, clipped)
			h := 1e-6
			f := func(lp float64) float64 {
				if tc.stopGradOnRatio { // hold the clamped ratio at its value
					c := min(math.Exp(tc.logp-tc.old), 5.0)
					return -(c*tc.adv*lp - 0.1*KL3(lp, tc.ref))
				}
				l, _, _ := o.TokenLoss(lp, tc.old, tc.ref, tc.adv)
				return l
			}
			fd := (f(tc.logp+h) - f(tc.logp-h)) / (2 * h)
			assert.InDelta(t, fd, d, 1e-5)
			if tc.wantZeroPGGrad {
				assert.InDelta(t, 0.1*kl3Grad(tc.logp, tc.ref), d, 1e-12)
			}
		})
	}
}

func TestCompletionRows(t *testing.T) {
	rs := []Rollout{
		{Prompt: []int32{5, 6, 7}, Completion: []int32{8, 2}},
		{Prompt: []int32{9}, Completion: []int32{10, 11, 12}},
	}
	p, P := CompletionRows(rs, 0, 2)
	require.Equal(t, 3, P)
	require.Equal(t, 6, p.T)
	assert.Equal(t, []int32{5, 6, 7, 8, 2, 2, 0, 0, 9, 10, 11, 12}, p.Input)
	assert.Equal(t, []int32{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1}, p.Docs)
	// position 2 predicts the first completion token
	assert.Equal(t, []float64{0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0}, p.Mask)
}

func TestAgentRows(t *testing.T) {
	rs := []Rollout{
		// tool result (mask 0) between two generated parts; a trained eos cuts the rest
		{Prompt: []int32{5, 6}, Completion: []int32{7, 8, 9, 10, 2, 11}, Mask: []int8{1, 0, 0, 1, 1, 1}},
		{Prompt: []int32{5}, Completion: []int32{7}, Mask: []int8{1}},
	}
	p := AgentRows(rs, 0, 2, 6) // row 0 loses its first 2 tokens
	require.Equal(t, 6, p.T)
	assert.Equal(t, []int32{7, 8, 9, 10, 2, 11, 5, 7, 0, 0, 0, 0}, p.Input)
	assert.Equal(t, []float64{0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0}, p.Mask)
	assert.Equal(t, []int32{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, p.Docs)
}

func TestRolloutsRoundTrip(t *testing.T) {
	rs := []Rollout{{Prompt: []int32{1, 2}, Completion: []int32{3}, Reward: 0.5}, {Prompt: []int32{4}, Completion: []int32{5, 6}, Reward: -1, Mask: []int8{1, 0}}}
	var buf bytes.Buffer
	require.NoError(t, EncodeRollouts(&buf, rs))
	assert.Equal(t, `{"prompt":[1,2],"completion":[3],"reward":0.5}`+"\n"+`{"prompt":[4],"completion":[5,6],"reward":-1,"mask":[1,0]}`+"\n", buf.String())
	got, err := DecodeRollouts(&buf, "x")
	require.NoError(t, err)
	assert.Equal(t, rs, got)
	_, err = DecodeRollouts(bytes.NewBufferString("{\"prompt\":[1]}\n{oops\n"), "f.jsonl")
	require.ErrorContains(t, err, "f.jsonl:2")
	_, err = DecodeRollouts(bytes.NewBufferString(`{"prompt":[1],"completion":[2],"mask":[1,1]}`), "f")
	require.ErrorContains(t, err, "mask")
}

// TestCriticGradient checks the value head's gradient (the final norm
// applied twice) against finite differences of the value loss.
func TestCriticGradient(t *testing.T) {
	c := model.Presets()["tiny3"]
	c.Vocab = 64
	host := model.InitWeights(c, 7)
	D := c.Hidden
	hw := make([]float32, D)
	for i := range hw {
		hw[i] = float32(math.Sin(float64(i))) * 0.2
	}
	newCritic := func() *Critic {
		cr, err := NewCritic(c, host, cpu.New(0), hw, 0.1, OptimConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Accum: 1})
		require.NoError(t, err)
		return cr
	}
	rows := &PolicyRows{B: 1, T: 4, Input: []int32{3, 4, 5, 6}, Mask: []float64{1, 1, 1, 0},
		OldLogp: make([]float64, 4), RefLogp: make([]float64, 4), Adv: make([]float64, 4)}
	cr := newCritic()
	old, err := cr.Values(rows)
	require.NoError(t, err)
	ret := []float64{1, -1, 0.5, 0}
	lossAt := func(cr *Critic) float64 {
		v, err := cr.Values(rows)
		require.NoError(t, err)
		var l float64
		for i := range 3 {
			vc := min(max(v[i], old[i]-10), old[i]+10)
			l += 0.5 * max((v[i]-ret[i])*(v[i]-ret[i]), (vc-ret[i])*(vc-ret[i])) / 3
		}
		return l
	}
	vl := &ValueLoss{Critic: cr, Rows: rows, OldValues: old, Returns: ret, ClipRange: 10, Coef: 1, Mult: 1}
	cr.Trainer.Objective = vl
	_, err = vl.LossAndGrad(cr.Model, rows.Batch(), nil, 1)
	require.NoError(t, err)
	assert.InDelta(t, lossAt(cr), vl.Value, 1e-6)
	// finite differences on a few entries: the value head, the final norm
	// (used twice), an embedding.
	for _, name := range []string{"value_head.weight", "value_head.bias", "model.norm.weight", "model.embed_tokens.weight"} {
		i := indexOf(cr.Trainer.names, name)
		require.GreaterOrEqual(t, i, 0, name)
		g := cr.Model.Engine.Read(cr.Trainer.grads[i])
		for _, j := range []int{0, 1} {
			if name == "model.embed_tokens.weight" {
				j = 4*D + j // token 4's row
			}
			if j >= len(g) {
				continue
			}
			fd := func(h float32) float64 {
				c2 := newCritic()
				w := c2.Model.Engine.Read(c2.Trainer.weights[i])
				w[j] += h
				c2.Model.Engine.Copy(c2.Trainer.weights[i], 0, c2.Model.Engine.Upload(w), 0, len(w))
				return lossAt(c2)
			}
			h := float32(1e-3)
			num := (fd(h) - fd(-h)) / (2 * float64(h))
			assert.InDelta(t, num, float64(g[j]), 2e-3*max(1, math.Abs(num)), "%s[%d]", name, j)
		}
	}
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
