package native

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/minimind-go/minimind/model"
)

// Rollout is one completion of a prompt with its reward: one line of a
// --save_rollouts / --from_rollouts file. The G completions of a prompt are
// consecutive.
type Rollout struct {
	Prompt     []int32 `json:"prompt"`
	Completion []int32 `json:"completion"`
	Reward     float64 `json:"reward"`
	// Mask (agent stage) marks the completion tokens the model generated
	// (1) apart from tool results rendered back into the context (0).
	Mask []int8 `json:"mask,omitempty"`
}

// ReadRollouts reads a rollouts jsonl file.
func ReadRollouts(path string) ([]Rollout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("native: rollouts: %w", err)
	}
	defer f.Close()
	return DecodeRollouts(f, path)
}

// DecodeRollouts reads rollouts, one JSON object a line; name labels errors.
func DecodeRollouts(r io.Reader, name string) ([]Rollout, error) {
	var out []Rollout
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ro Rollout
		if err := json.Unmarshal(sc.Bytes(), &ro); err != nil {
			return nil, fmt.Errorf("native: %s:%d: %w", name, line, err)
		}
		if len(ro.Prompt) == 0 {
			return nil, fmt.Errorf("native: %s:%d: empty prompt", name, line)
		}
		if ro.Mask != nil && len(ro.Mask) != len(ro.Completion) {
			return nil, fmt.Errorf("native: %s:%d: mask of %d for a completion of %d tokens", name, line, len(ro.Mask), len(ro.Completion))
		}
		out = append(out, ro)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("native: %s: %w", name, err)
	}
	return out, nil
}

// EncodeRollouts writes rollouts as jsonl.
func EncodeRollouts(w io.Writer, rs []Rollout) error {
	enc := json.NewEncoder(w)
	for _, r := range rs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("native: rollouts: %w", err)
		}
	}
	return nil
}

// checkVocab rejects ids outside [0, V).
func checkRollouts(rs []Rollout, V int) error {
	for i, r := range rs {
		for _, ids := range [][]int32{r.Prompt, r.Completion} {
			for _, id := range ids {
				if id < 0 || int(id) >= V {
					return fmt.Errorf("native: rollout %d: token id %d is outside the vocabulary [0, %d)", i, id, V)
				}
			}
		}
	}
	return nil
}

// CompletionRows lays out rollouts as MiniMind's GRPO and PPO do: prompts
// left-padded with pad to the longest, completions after them filled with
// eos to the longest (generation forces eos once a row is done). Position
// P−1+t predicts completion token t; it is trained up to and including the
// first eos (all of a completion without one). Adv, OldLogp and RefLogp
// are left zero.
func CompletionRows(rs []Rollout, pad, eos int32) (*PolicyRows, int) {
	P, R := 0, 0
	for _, r := range rs {
		P, R = max(P, len(r.Prompt)), max(R, len(r.Completion))
	}
	R = max(R, 1)
	T := P + R
	B := len(rs)
	p := &PolicyRows{B: B, T: T, Input: make([]int32, B*T), Mask: make([]float64, B*T),
		OldLogp: make([]float64, B*T), RefLogp: make([]float64, B*T), Adv: make([]float64, B*T)}
	padded := false
	docs := make([]int32, B*T)
	for i, r := range rs {
		row := p.Input[i*T : (i+1)*T]
		off := P - len(r.Prompt)
		for t := range off {
			row[t] = pad
		}
		padded = padded || off > 0
		for t := off; t < T; t++ {
			docs[i*T+t] = 1
		}
		copy(row[off:], r.Prompt)
		for t := range R {
			row[P+t] = eos
		}
		copy(row[P:], r.Completion)
		for t, m := range EOSMask(r.Completion, eos) {
			p.Mask[i*T+P-1+t] = m
		}
	}
	if padded {
		p.Docs = docs
	}
	return p, P
}

// AgentRows lays out agent trajectories as MiniMind's train_agent.py packs
// them: ids = prompt + completion cut from the left to maxTotal tokens,
// right-padded with pad; position t is trained when token t+1 is a
// generated one (Mask 1), up to the first trained eos.
func AgentRows(rs []Rollout, pad, eos int32, maxTotal int) *PolicyRows {
	type row struct {
		ids  []int32
		mask []float64
	}
	rows := make([]row, len(rs))
	T := 2
	for i, r := range rs {
		ids := append(append([]int32{}, r.Prompt...), r.Completion...)
		mask := make([]float64, len(ids))
		for j := range r.Completion {
			if r.Mask == nil || r.Mask[j] != 0 {
				mask[len(r.Prompt)+j] = 1
			}
		}
		if maxTotal > 0 && len(ids) > maxTotal {
			ids, mask = ids[len(ids)-maxTotal:], mask[len(mask)-maxTotal:]
		}
		rows[i] = row{ids, mask}
		T = max(T, len(ids))
	}
	B := len(rs)
	p := &PolicyRows{B: B, T: T, Input: make([]int32, B*T), Mask: make([]float64, B*T),
		OldLogp: make([]float64, B*T), RefLogp: make([]float64, B*T), Adv: make([]float64, B*T)}
	padded := false
	docs := make([]int32, B*T)
	for i, r := range rows {
		for t := range T {
			if t < len(r.ids) {
				p.Input[i*T+t] = r.ids[t]
				docs[i*T+t] = 1
			} else {
				p.Input[i*T+t] = pad
				padded = true
			}
		}
		for t := 0; t+1 < len(r.ids); t++ {
			if r.mask[t+1] == 0 {
				continue
			}
			p.Mask[i*T+t] = 1
			if r.ids[t+1] == eos {
				break
			}
		}
	}
	if padded {
		p.Docs = docs
	}
	return p
}

// subRows selects rows idx of p (PPO's minibatches).
func subRows(p *PolicyRows, idx []int) *PolicyRows {
	T := p.T
	q := &PolicyRows{B: len(idx), T: T}
	pick := func(src []float64) []float64 {
		out := make([]float64, 0, len(idx)*T)
		for _, i := range idx {
			out = append(out, src[i*T:(i+1)*T]...)
		}
		return out
	}
	for _, i := range idx {
		q.Input = append(q.Input, p.Input[i*T:(i+1)*T]...)
		if p.Docs != nil {
			q.Docs = append(q.Docs, p.Docs[i*T:(i+1)*T]...)
		}
	}
	q.Mask, q.OldLogp, q.RefLogp, q.Adv = pick(p.Mask), pick(p.OldLogp), pick(p.RefLogp), pick(p.Adv)
	return q
}

// UpdateStats summarises one RL step for the log.
type UpdateStats struct {
	Loss      float64 `json:"loss"`
	Value     float64 `json:"value_loss,omitempty"`
	Reward    float64 `json:"reward"`
	KL        float64 `json:"kl"`
	KL3       float64 `json:"kl3"`
	ClipFrac  float64 `json:"clip_frac"`
	Entropy   float64 `json:"entropy"`
	Length    float64 `json:"length"`
	ApproxKL  float64 `json:"approx_kl,omitempty"`
	Aux       float64 `json:"aux,omitempty"`
	LR        float64 `json:"lr"`
	GradNorm  float64 `json:"grad_norm"`
	Stopped   bool    `json:"early_stop,omitempty"`
	Optimizer int     `json:"optimizer_steps"`
}

// GroupUpdate is one GRPO/CISPO or agent update (train_grpo.py,
// train_agent.py): G completions per prompt, group-normalised
// advantages, KL to a frozen reference, one micro-step.
type GroupUpdate struct {
	Policy *Trainer
	Ref    *model.Model
	Loss   PolicyLoss // Kind, Beta, Eps, EpsHigh
	G      int
	Sched  RLSchedule
	// Agent packs rows as the agent stage (right padding, tool results
	// masked, MaxTotal) and averages over non-empty rows.
	Agent    bool
	MaxTotal int
}

// Step trains on the rollouts of batch prompts (len(rs) = prompts·G).
func (u *GroupUpdate) Step(rs []Rollout) (UpdateStats, error) {
	m := u.Policy.Model
	if err := checkRollouts(rs, m.Config.Vocab); err != nil {
		return UpdateStats{}, err
	}
	if len(rs) == 0 {
		return UpdateStats{}, errors.New("native: no rollouts")
	}
	var p *PolicyRows
	lo := u.Loss
	if u.Agent {
		p = AgentRows(rs, m.Config.PAD, m.Config.EOS, u.MaxTotal)
		lo.Reduction = PerSequenceNonEmpty
	} else {
		p, _ = CompletionRows(rs, m.Config.PAD, m.Config.EOS)
		lo.Reduction = PerSequence
	}
	rewards := make([]float64, len(rs))
	for i, r := range rs {
		rewards[i] = r.Reward
	}
	adv, err := GroupAdvantages(rewards, u.G)
	if err != nil {
		return UpdateStats{}, err
	}
	for i := range p.Adv {
		p.Adv[i] = adv[i/p.T]
	}
	// The rollout policy's log-probabilities (MiniMind recomputes them on
	// the full output right after generation) and the reference's.
	if p.OldLogp, err = TokenLogps(m, p); err != nil {
		return UpdateStats{}, err
	}
	if p.RefLogp, err = TokenLogps(u.Ref, p); err != nil {
		return UpdateStats{}, err
	}
	lo.Rows = p
	u.Policy.Objective = &lo
	lr := u.Sched.At(u.Policy.Steps())
	r, err := u.Policy.MicroStep(p.Batch(), lr)
	if err != nil {
		return UpdateStats{}, err
	}
	st := lo.Stats
	out := UpdateStats{Loss: r.Loss, KL: st.KL, KL3: st.KL3, ClipFrac: st.ClipFrac, Entropy: st.Entropy,
		Aux: r.Aux, LR: lr, GradNorm: r.GradNorm, Optimizer: u.Policy.Steps()}
	for i := range rs {
		out.Reward += rewards[i] / float64(len(rs))
	}
	out.Length = float64(st.Tokens) / float64(len(rs))
	return out, nil
}

// PPOUpdate is one PPO update (train_ppo.py): values from the critic, the
// reward on the last response token, GAE, whitened advantages, then Iters
// passes of minibatches over the batch with clipped policy and value
// losses and an early stop on the approximate KL.
type PPOUpdate struct {
	Actor       *Trainer
	Critic      *Critic
	Ref         *model.Model
	Eps         float64 // clip_epsilon
	KLCoef      float64
	VFCoef      float64
	ClipValue   float64 // cliprange_value
	Gamma       float64
	Lambda      float64
	Iters       int // ppo_update_iters
	MiniBatch   int
	EarlyStopKL float64
	ActorSched  RLSchedule
	CriticSched RLSchedule
	// Perm returns the row order of a pass (nil: a seeded shuffle).
	Perm func(n int) []int
	Rand *rand.Rand
	// Minibatches records every minibatch of the last Step.
	Minibatches []PPOMinibatch
}

// PPOMinibatch reports one minibatch of a PPO update.
type PPOMinibatch struct {
	Rows                          []int
	Policy, Value, Aux, ApproxKL  float64
	Stopped                       bool
	ActorGradNorm, CriticGradNorm float64
	ActorLR, CriticLR             float64
}

// Step trains on one rollout per prompt.
func (u *PPOUpdate) Step(rs []Rollout) (UpdateStats, error) {
	m := u.Actor.Model
	if err := checkRollouts(rs, m.Config.Vocab); err != nil {
		return UpdateStats{}, err
	}
	if len(rs) == 0 {
		return UpdateStats{}, errors.New("native: no rollouts")
	}
	p, _ := CompletionRows(rs, m.Config.PAD, m.Config.EOS)
	B, T := p.B, p.T
	var err error
	if p.OldLogp, err = TokenLogps(m, p); err != nil {
		return UpdateStats{}, err
	}
	if p.RefLogp, err = TokenLogps(u.Ref, p); err != nil {
		return UpdateStats{}, err
	}
	vals, err := u.Critic.Values(p)
	if err != nil {
		return UpdateStats{}, err
	}
	// Per row: values and rewards over the masked positions, GAE.
	oldV := make([]float64, B*T)
	returns := make([]float64, B*T)
	advAll := make([]float64, B*T)
	for r := range B {
		first, n := -1, 0
		for t := range T {
			if p.Mask[r*T+t] != 0 {
				if first < 0 {
					first = t
				}
				n++
			}
		}
		if first < 0 {
			continue
		}
		R := T - 1 - first // positions first .. T-2 predict the completion
		v := make([]float64, R)
		rw := make([]float64, R)
		for t := range R {
			if p.Mask[r*T+first+t] != 0 {
				v[t] = vals[r*T+first+t]
			}
		}
		rw[n-1] = rs[r].Reward
		a, ret := GAE(rw, v, u.Gamma, u.Lambda)
		for t := range R {
			oldV[r*T+first+t] = v[t]
			returns[r*T+first+t] = ret[t]
			advAll[r*T+first+t] = a[t]
		}
	}
	Whiten(advAll, p.Mask)
	p.Adv = advAll
	perm := u.Perm
	if perm == nil {
		rng := u.Rand
		if rng == nil {
			rng = rand.New(rand.NewPCG(1, 2))
		}
		perm = func(n int) []int { return rng.Perm(n) }
	}
	mb := min(max(u.MiniBatch, 1), B)
	var out UpdateStats
	u.Minibatches = u.Minibatches[:0]
	steps := 0
	stopped := false
	for it := 0; it < u.Iters && !stopped; it++ {
		order := perm(B)
		for s := 0; s < B; s += mb {
			idx := order[s:min(s+mb, B)]
			q := subRows(p, idx)
			lo := &PolicyLoss{Kind: PPO, Beta: u.KLCoef, Eps: u.Eps, Reduction: PerToken,
				EarlyStopKL: u.EarlyStopKL, Rows: q, AlreadyStopped: stopped}
			u.Actor.Objective = lo
			alr := u.ActorSched.At(u.Actor.Steps())
			ra, err := u.Actor.MicroStep(q.Batch(), alr)
			if err != nil {
				return out, fmt.Errorf("native: ppo actor: %w", err)
			}
			stopped = stopped || lo.Stats.Stopped
			mult := 1.0
			if lo.Stats.Stopped {
				mult = 0
			}
			vl := &ValueLoss{Critic: u.Critic, Rows: q, ClipRange: u.ClipValue, Coef: u.VFCoef, Mult: mult,
				OldValues: pickF(oldV, idx, T), Returns: pickF(returns, idx, T)}
			u.Critic.Trainer.Objective = vl
			clr := u.CriticSched.At(u.Critic.Trainer.Steps())
			rc, err := u.Critic.Trainer.MicroStep(q.Batch(), clr)
			if err != nil {
				return out, fmt.Errorf("native: ppo critic: %w", err)
			}
			st := lo.Stats
			u.Minibatches = append(u.Minibatches, PPOMinibatch{Rows: idx, Policy: st.Loss, Value: vl.Value, Aux: ra.Aux,
				ApproxKL: st.ApproxKL, Stopped: st.Stopped, ActorGradNorm: ra.GradNorm, CriticGradNorm: rc.GradNorm,
				ActorLR: alr, CriticLR: clr})
			out.Loss += st.Loss + u.VFCoef*vl.Value + ra.Aux
			out.Value += vl.Value
			out.KL += st.KL
			out.KL3 += st.KL3
			out.ClipFrac += st.ClipFrac
			out.Entropy += st.Entropy
			out.ApproxKL += st.ApproxKL
			out.Aux += ra.Aux
			out.LR, out.GradNorm = alr, ra.GradNorm
			steps++
		}
	}
	k := float64(max(steps, 1))
	out.Loss /= k
	out.Value /= k
	out.KL /= k
	out.KL3 /= k
	out.ClipFrac /= k
	out.Entropy /= k
	out.ApproxKL /= k
	out.Aux /= k
	out.Stopped = stopped
	out.Optimizer = u.Actor.Steps()
	var tokens float64
	for i := range rs {
		out.Reward += rs[i].Reward / float64(B)
	}
	for _, mk := range p.Mask {
		tokens += mk
	}
	out.Length = tokens / float64(B)
	return out, nil
}

func pickF(src []float64, idx []int, T int) []float64 {
	out := make([]float64, 0, len(idx)*T)
	for _, i := range idx {
		out = append(out, src[i*T:(i+1)*T]...)
	}
	return out
}
