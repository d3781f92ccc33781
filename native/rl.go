package native

import (
	"errors"
	"fmt"
	"math"

	"github.com/minimind-go/minimind/model"
)

// This file holds the update math of MiniMind's reinforcement-learning
// stages (train_grpo.py, train_ppo.py, train_agent.py): group advantages,
// the k3 KL estimator, the GRPO/CISPO/PPO token losses and their
// reductions, GAE, whitening and the RL learning-rate schedule.

// GroupAdvantages normalises rewards [groups·G] within each group of G
// consecutive completions: A = (r − mean)/(std + 1e-4), std the population
// standard deviation (MiniMind's std(unbiased=False)).
func GroupAdvantages(rewards []float64, G int) ([]float64, error) {
	if G < 1 || len(rewards)%G != 0 {
		return nil, fmt.Errorf("native: %d rewards do not form groups of %d", len(rewards), G)
	}
	adv := make([]float64, len(rewards)) // [groups·G]
	for s := 0; s < len(rewards); s += G {
		g := rewards[s : s+G]
		var mean float64
		for _, r := range g {
			mean += r
		}
		mean /= float64(G)
		var v float64
		for _, r := range g {
			v += (r - mean) * (r - mean)
		}
		std := math.Sqrt(v / float64(G))
		for i, r := range g {
			adv[s+i] = (r - mean) / (std + 1e-4)
		}
	}
	return adv, nil
}

// KL3 is the k3 estimator of KL(π‖π_ref) for one token: with
// d = ref − logp, exp(d) − d − 1 (never negative).
func KL3(logp, ref float64) float64 {
	d := ref - logp
	return math.Exp(d) - d - 1
}

// kl3Grad is ∂KL3/∂logp = 1 − exp(ref − logp).
func kl3Grad(logp, ref float64) float64 { return 1 - math.Exp(ref-logp) }

// EOSMask marks the tokens of a completion up to and including the first
// eos (all of them when there is none): [len(completion)].
func EOSMask(completion []int32, eos int32) []float64 {
	m := make([]float64, len(completion))
	for i, id := range completion {
		m[i] = 1
		if id == eos {
			break
		}
	}
	return m
}

// GAE computes generalised advantage estimates over R positions of one
// sequence: δ_t = r_t + γ·V_{t+1} − V_t (V_R = 0), A_t = δ_t + γλ·A_{t+1};
// returns = A + V. rewards, values [R].
func GAE(rewards, values []float64, gamma, lambda float64) (adv, returns []float64) {
	R := len(rewards)
	adv, returns = make([]float64, R), make([]float64, R)
	var last float64
	for t := R - 1; t >= 0; t-- {
		next := 0.0
		if t+1 < R {
			next = values[t+1]
		}
		delta := rewards[t] + gamma*next - values[t]
		last = delta + gamma*lambda*last
		adv[t] = last
		returns[t] = last + values[t]
	}
	return adv, returns
}

// Whiten normalises x over the entries where mask is 1 (population
// variance): x ← (x − mean)/√(var + 1e-8)·mask, in place.
func Whiten(x, mask []float64) {
	var n, s float64
	for i, m := range mask {
		n += m
		s += x[i] * m
	}
	if n == 0 {
		for i := range x {
			x[i] = 0
		}
		return
	}
	mean := s / n
	var v float64
	for i, m := range mask {
		v += (x[i] - mean) * (x[i] - mean) * m
	}
	r := 1 / math.Sqrt(v/n+1e-8)
	for i, m := range mask {
		x[i] = (x[i] - mean) * r * m
	}
}

// RLSchedule is PyTorch's CosineAnnealingLR as MiniMind's RL stages use
// it: lr_k = η_min + (LR − η_min)·(1 + cos(π·k/TMax))/2 with η_min = LR/10,
// k the number of optimizer steps already taken (the first step uses LR).
type RLSchedule struct {
	LR   float64
	TMax int
}

// At returns the learning rate of the optimizer step that follows k steps.
func (s RLSchedule) At(k int) float64 {
	eta := s.LR / 10
	if s.TMax <= 0 {
		return s.LR
	}
	return eta + (s.LR-eta)*(1+math.Cos(math.Pi*float64(k)/float64(s.TMax)))/2
}

// LossKind selects a policy loss.
type LossKind int

const (
	// CISPO: −(stopgrad(min(ratio, ε_high))·A·logp − β·KL), MiniMind's default.
	CISPO LossKind = iota
	// GRPO: −(min(ratio·A, clip(ratio, 1−ε, 1+ε)·A) − β·KL).
	GRPO
	// PPO: max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)) + β·KL.
	PPO
)

// ParseLossKind reads --loss_type.
func ParseLossKind(s string) (LossKind, error) {
	switch s {
	case "cispo":
		return CISPO, nil
	case "grpo":
		return GRPO, nil
	case "ppo":
		return PPO, nil
	}
	return 0, fmt.Errorf("native: unknown loss_type %q (want cispo or grpo)", s)
}

func (k LossKind) String() string {
	return [...]string{"cispo", "grpo", "ppo"}[k]
}

// TokenLoss is the loss of one token and its derivative by the token's
// log-probability logp, given the rollout's log-probability old, the
// reference's ref and the advantage a.
func (o *PolicyLoss) TokenLoss(logp, old, ref, a float64) (loss, dlogp float64, clipped bool) {
	ratio := math.Exp(logp - old)
	kl := KL3(logp, ref)
	dkl := kl3Grad(logp, ref)
	lo, hi := 1-o.Eps, 1+o.Eps
	clip := min(max(ratio, lo), hi)
	switch o.Kind {
	case CISPO:
		c := min(ratio, o.EpsHigh)
		return -(c*a*logp - o.Beta*kl), -c*a + o.Beta*dkl, ratio > o.EpsHigh
	case GRPO:
		u, c := ratio*a, clip*a
		if u <= c { // the unclipped term is the minimum (ties: both carry ratio·A)
			return -(u - o.Beta*kl), -u + o.Beta*dkl, false
		}
		return -(c - o.Beta*kl), o.Beta * dkl, true
	default: // PPO
		u, c := -a*ratio, -a*clip
		if u >= c {
			return u + o.Beta*kl, -a*ratio + o.Beta*dkl, false
		}
		return c + o.Beta*kl, o.Beta * dkl, true
	}
}

// PolicyRows is one micro-batch of a policy update: B rows of T tokens
// whose position t (predicting Input[t+1]) takes part where Mask is
// non-zero.
type PolicyRows struct {
	B, T  int
	Input []int32 // [B·T] token ids
	// Docs is 0 on left padding and 1 elsewhere, so real tokens never attend
	// to padding (nil: no padding).
	Docs []int32 // [B·T]
	// Mask, OldLogp, RefLogp and Adv are indexed by the predicting
	// position: entry r·T+t concerns token Input[r·T+t+1].
	Mask    []float64 // [B·T] 1 where the predicted token is trained
	OldLogp []float64 // [B·T] the rollout policy's log-probability
	RefLogp []float64 // [B·T] the reference model's log-probability
	Adv     []float64 // [B·T] advantage (per sequence for GRPO, per token for PPO)
}

// target returns the token predicted at position i (r·T+t), or -1.
func (p *PolicyRows) target(i int) int32 {
	if i%p.T == p.T-1 {
		return -1
	}
	return p.Input[i+1]
}

// Batch is the rows as a model.Batch (labels unused).
func (p *PolicyRows) Batch() model.Batch {
	labels := make([]int32, len(p.Input))
	for i := range labels {
		labels[i] = model.IgnoreIndex
	}
	return model.Batch{B: p.B, T: p.T, Input: p.Input, Labels: labels, Docs: p.Docs}
}

// Validate checks the rows' sizes.
func (p *PolicyRows) Validate() error {
	n := p.B * p.T
	if p.B < 1 || p.T < 2 || len(p.Input) != n || len(p.Mask) != n || len(p.OldLogp) != n || len(p.RefLogp) != n || len(p.Adv) != n {
		return fmt.Errorf("native: policy rows of %d×%d have inconsistent sizes", p.B, p.T)
	}
	if p.Docs != nil && len(p.Docs) != n {
		return errors.New("native: policy rows need one doc id per token")
	}
	return nil
}

// Reduction says how token losses become the micro-batch's loss.
type Reduction int

const (
	// PerSequence averages each row's masked tokens, then the rows (GRPO).
	PerSequence Reduction = iota
	// PerSequenceNonEmpty is PerSequence over the rows with at least one
	// masked token only (the agent stage).
	PerSequenceNonEmpty
	// PerToken averages all masked tokens of the micro-batch (PPO).
	PerToken
)

// PolicyStats reports what a policy micro-step saw.
type PolicyStats struct {
	Loss     float64 // the objective without the MoE aux loss
	KL       float64 // masked mean of (ref − logp), as MiniMind logs it
	KL3      float64 // masked mean of the k3 estimator
	ClipFrac float64 // share of masked tokens whose ratio was clipped
	Entropy  float64 // masked mean entropy of the policy
	ApproxKL float64 // masked mean of ½(logp − old)² (PPO's early stop)
	Tokens   int     // masked tokens
	Stopped  bool    // PPO: the approximate KL crossed EarlyStopKL
}

// PolicyLoss is an Objective for MiniMind's policy updates. Rows must be
// set before each micro-step.
type PolicyLoss struct {
	Kind           LossKind
	Beta           float64 // KL coefficient (β, PPO's kl_coef)
	Eps, EpsHigh   float64 // clip ε; CISPO's ε_high
	Reduction      Reduction
	EarlyStopKL    float64 // PPO: stop when approx KL exceeds it (0: never)
	Rows           *PolicyRows
	AlreadyStopped bool // PPO: an earlier minibatch of this pass stopped (loss ×0)
	Stats          PolicyStats
}

// LossAndGrad implements Objective.
func (o *PolicyLoss) LossAndGrad(m *model.Model, _ model.Batch, g *model.Weights, scale float32) (model.LossInfo, error) {
	p := o.Rows
	if p == nil {
		return model.LossInfo{}, errors.New("native: policy loss without rows")
	}
	if err := p.Validate(); err != nil {
		return model.LossInfo{}, err
	}
	e := m.Engine.(model.TrainEngine)
	head := func(logits model.Tensor, N, V int) (model.LossInfo, float64, error) {
		x := e.Read(logits) // [N, V]
		// Per-position weights of the reduction.
		w := make([]float64, N) // [B·T]
		var tokens float64
		rows := 0
		for r := range p.B {
			var s float64
			for t := range p.T {
				s += p.Mask[r*p.T+t]
			}
			tokens += s
			if s > 0 || o.Reduction == PerSequence {
				rows++
			}
		}
		for r := range p.B {
			var s float64
			for t := range p.T {
				s += p.Mask[r*p.T+t]
			}
			for t := range p.T {
				i := r*p.T + t
				switch o.Reduction {
				case PerToken:
					w[i] = p.Mask[i] / max(tokens, 1)
				default:
					if rows > 0 {
						w[i] = p.Mask[i] / max(s, 1) / float64(rows)
					}
				}
			}
		}
		// First pass: log-probabilities, approx KL (the early stop decides
		// before the loss is formed); d keeps each masked row's softmax.
		ls := make([]float64, V)
		logp := make([]float64, N)
		d := make([]float32, N*V) // [N, V] softmax, then ∂(scale·loss)/∂logits
		var st PolicyStats
		for i := range N {
			if p.Mask[i] == 0 {
				continue
			}
			tg := p.target(i)
			if tg < 0 {
				return model.LossInfo{}, 0, fmt.Errorf("native: policy rows: position %d is masked but predicts nothing", i)
			}
			logSoftmaxRow(ls, x[i*V:(i+1)*V], 1)
			logp[i] = ls[tg]
			dr := d[i*V : (i+1)*V]
			var h float64
			for j, l := range ls {
				e := math.Exp(l)
				dr[j] = float32(e)
				h -= e * l
			}
			lr := logp[i] - p.OldLogp[i]
			st.ApproxKL += 0.5 * lr * lr * p.Mask[i]
			st.KL += (p.RefLogp[i] - logp[i]) * p.Mask[i]
			st.KL3 += KL3(logp[i], p.RefLogp[i]) * p.Mask[i]
			st.Entropy += h * p.Mask[i]
		}
		den := max(tokens, 1)
		st.ApproxKL /= den
		st.KL /= den
		st.KL3 /= den
		st.Entropy /= den
		st.Tokens = int(tokens)
		mult := 1.0
		if o.AlreadyStopped {
			mult, st.Stopped = 0, true
		} else if o.EarlyStopKL > 0 && st.ApproxKL > o.EarlyStopKL {
			mult, st.Stopped = 0, true
		}
		var loss, clipped float64
		for i := range N {
			if p.Mask[i] == 0 {
				continue
			}
			l, dl, c := o.TokenLoss(logp[i], p.OldLogp[i], p.RefLogp[i], p.Adv[i])
			loss += w[i] * l
			if c {
				clipped += p.Mask[i]
			}
			// ∂logp/∂x = onehot(y) − softmax(x).
			k := float64(scale) * mult * w[i] * dl
			dr := d[i*V : (i+1)*V]
			if k == 0 {
				clear(dr)
				continue
			}
			for j, pj := range dr {
				dr[j] = float32(-k * float64(pj))
			}
			dr[p.target(i)] += float32(k)
		}
		st.ClipFrac = clipped / den
		st.Loss = loss
		o.Stats = st
		uploadGrad(e, logits, d)
		return model.LossInfo{Loss: loss, CE: loss, Targets: int(tokens)}, mult, nil
	}
	return m.LossAndGradHead(p.Batch(), g, scale, head)
}

// TokenLogps runs m on rows (no gradient) and returns the log-probability
// of every predicted token at the masked positions (0 elsewhere): [B·T].
func TokenLogps(m *model.Model, p *PolicyRows) ([]float64, error) {
	logits, err := m.Forward(p.Input, p.B, model.ForwardOptions{Docs: p.Docs})
	if err != nil {
		return nil, fmt.Errorf("native: log-probabilities: %w", err)
	}
	x := m.Engine.Read(logits) // [B·T, V]
	m.Engine.Free(logits)
	V := m.Config.Vocab
	out := make([]float64, len(p.Input))
	ls := make([]float64, V)
	for i := range out {
		if p.Mask[i] == 0 {
			continue
		}
		tg := p.target(i)
		if tg < 0 {
			continue
		}
		logSoftmaxRow(ls, x[i*V:(i+1)*V], 1)
		out[i] = ls[tg]
	}
	return out, nil
}

// logSoftmaxRow writes log softmax(x/temp) of one row [V] into out [V], in
// float64, and returns it.
func logSoftmaxRow(out []float64, x []float32, temp float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v)/temp)
	}
	var s float64
	for i, v := range x {
		out[i] = float64(v)/temp - mx
		s += math.Exp(out[i])
	}
	ls := math.Log(s)
	for i := range out {
		out[i] -= ls
	}
	return out
}
