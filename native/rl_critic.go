package native

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/minimind-go/minimind/model"
)

// Critic is MiniMind's PPO critic (train_ppo.py CriticModel): a MiniMind
// body loaded from the SFT weights plus value_head = Linear(hidden, 1) with
// a bias, applied to norm(h) where h is the body's output after its final
// RMSNorm, so the final norm (with the same weight) is applied twice:
//
//	value = w · RMSNorm(RMSNorm(x_L; g); g) + b
//
// The body runs as an untied model whose output head is [I_D; 0] (so its
// "logits" carry the final-normed hidden state in their first D columns);
// the head itself is never trained. The body's vocabulary must be at least
// its hidden size.
type Critic struct {
	Model   *model.Model
	Trainer *Trainer

	vw, vb model.Tensor // [D], [1] value_head.weight, value_head.bias
	gw, gb model.Tensor // [D], [1] their gradients
	// grads views the trainer's body gradients as model.Weights, with a
	// scratch tensor [V, D] for the untrained identity head.
	grads   *model.Weights
	scratch model.Tensor
}

// NewCritic builds the critic on engine e from a body's config and host
// weights and the value head's weight [D] and bias.
func NewCritic(c model.Config, host *model.Weights, e model.Engine, headW []float32, headB float32, o OptimConfig) (*Critic, error) {
	D, V := c.Hidden, c.Vocab
	if V < D {
		return nil, fmt.Errorf("native: critic: the vocabulary (%d) is smaller than the hidden size (%d)", V, D)
	}
	if len(headW) != D {
		return nil, fmt.Errorf("native: critic: value_head.weight has %d values, want %d", len(headW), D)
	}
	cc := c
	cc.TieEmbedding = false
	w := *host
	eye := make([]float32, V*D) // [V, D]: rows 0..D-1 the identity
	for i := range D {
		eye[i*D+i] = 1
	}
	w.LMHead = &model.Host{Data: eye}
	m, err := model.New(cc, e, &w)
	if err != nil {
		return nil, fmt.Errorf("native: critic: %w", err)
	}
	tr, err := NewTrainer(m, o)
	if err != nil {
		return nil, err
	}
	// The identity head is not a parameter.
	if i := slices.Index(tr.names, "lm_head.weight"); i >= 0 {
		te := tr.eng
		te.Free(tr.m[i])
		te.Free(tr.v[i])
		for _, s := range []*[]model.Tensor{&tr.weights, &tr.grads, &tr.m, &tr.v} {
			*s = slices.Delete(*s, i, i+1)
		}
		tr.sizes = slices.Delete(tr.sizes, i, i+1)
		tr.names = slices.Delete(tr.names, i, i+1)
		tr.shapes = slices.Delete(tr.shapes, i, i+1)
	}
	cr := &Critic{Model: m, Trainer: tr, vw: e.Upload(headW), vb: e.Upload([]float32{headB}), gw: e.Alloc(D), gb: e.Alloc(1),
		grads: &model.Weights{}, scratch: e.Alloc(V * D)}
	for _, p := range cc.Params(cr.grads) {
		if p.Name == "lm_head.weight" {
			*p.Ptr = cr.scratch
			continue
		}
		i := slices.Index(tr.names, p.Name)
		if i < 0 {
			return nil, fmt.Errorf("native: critic: no gradient for %s", p.Name)
		}
		*p.Ptr = tr.grads[i]
	}
	tr.add("value_head.weight", []int{1, D}, cr.vw, cr.gw)
	tr.add("value_head.bias", []int{1}, cr.vb, cr.gb)
	return cr, nil
}

// Head returns the value head's weight [D] and bias.
func (c *Critic) Head() ([]float32, float32) {
	e := c.Model.Engine
	return e.Read(c.vw), e.Read(c.vb)[0]
}

// valueRows computes the values [N] from the body's output [N, V] and the
// pieces their gradient needs: xf [N, D] and r = 1/rms(xf) [N].
func (c *Critic) valueRows(x []float32, N, V int) (vals []float64, r []float64, w, g []float32, b float32) {
	D := c.Model.Config.Hidden
	eps := c.Model.Config.NormEps
	w, b = c.Head()
	g = c.Model.Engine.Read(c.Model.W.Norm) // [D]
	vals, r = make([]float64, N), make([]float64, N)
	for i := range N {
		xf := x[i*V : i*V+D]
		var ss float64
		for _, v := range xf {
			ss += float64(v) * float64(v)
		}
		r[i] = 1 / math.Sqrt(ss/float64(D)+eps)
		var dot float64
		for j, v := range xf {
			dot += float64(w[j]) * float64(g[j]) * float64(v)
		}
		vals[i] = dot*r[i] + float64(b)
	}
	return vals, r, w, g, b
}

// Values runs the critic without gradient on rows and returns the value of
// every position: [B·T].
func (c *Critic) Values(p *PolicyRows) ([]float64, error) {
	logits, err := c.Model.Forward(p.Input, p.B, model.ForwardOptions{Docs: p.Docs})
	if err != nil {
		return nil, fmt.Errorf("native: critic: %w", err)
	}
	x := c.Model.Engine.Read(logits)
	c.Model.Engine.Free(logits)
	vals, _, _, _, _ := c.valueRows(x, len(p.Input), c.Model.Config.Vocab)
	return vals, nil
}

// ValueLoss is the critic's Objective in PPO: Coef·½·masked-mean over the
// micro-batch of max((V − R)², (clip(V, V_old ± ClipRange) − R)²).
type ValueLoss struct {
	Critic    *Critic
	Rows      *PolicyRows // Input, Docs and Mask are used
	OldValues []float64   // [B·T] values at the rollout, by predicting position
	Returns   []float64   // [B·T]
	ClipRange float64
	Coef      float64
	Mult      float64 // 0 after PPO's early stop, else 1
	Value     float64 // the value loss (without Coef), after LossAndGrad
}

// LossAndGrad implements Objective.
func (o *ValueLoss) LossAndGrad(m *model.Model, _ model.Batch, _ *model.Weights, scale float32) (model.LossInfo, error) {
	p, cr := o.Rows, o.Critic
	if p == nil || cr == nil || m != cr.Model {
		return model.LossInfo{}, errors.New("native: value loss needs its critic and rows")
	}
	if err := p.Validate(); err != nil {
		return model.LossInfo{}, err
	}
	e := m.Engine.(model.TrainEngine)
	D := m.Config.Hidden
	gr := cr.grads
	e.Zero(cr.scratch, m.Config.Vocab*D)
	head := func(logits model.Tensor, N, V int) (model.LossInfo, float64, error) {
		x := e.Read(logits) // [N, V]
		vals, r, w, g, _ := cr.valueRows(x, N, V)
		var tokens float64
		for _, mk := range p.Mask {
			tokens += mk
		}
		den := max(tokens, 1)
		d := make([]float32, N*V) // [N, V]
		gw := make([]float32, D)  // value_head.weight gradient
		gn := make([]float32, D)  // model.norm.weight gradient (second use)
		var gb, loss float64
		for i := range N {
			if p.Mask[i] == 0 {
				continue
			}
			v, vo, R := vals[i], o.OldValues[i], o.Returns[i]
			vc := min(max(v, vo-o.ClipRange), vo+o.ClipRange)
			l1, l2 := (v-R)*(v-R), (vc-R)*(vc-R)
			var dv float64 // ∂max(l1, l2)/∂v
			if l1 >= l2 {
				loss += 0.5 * l1 * p.Mask[i] / den
				dv = 2 * (v - R)
			} else {
				loss += 0.5 * l2 * p.Mask[i] / den
				if v > vo-o.ClipRange && v < vo+o.ClipRange {
					dv = 2 * (vc - R)
				}
			}
			k := float64(scale) * o.Mult * o.Coef * 0.5 * p.Mask[i] / den * dv // ∂(scaled loss)/∂value
			if k == 0 {
				continue
			}
			// value = r·Σ_j u_j·xf_j + b with u = w ⊙ g, r = (mean(xf²) + eps)^-½.
			xf := x[i*V : i*V+D]
			var dot float64
			for j, xv := range xf {
				dot += float64(w[j]) * float64(g[j]) * float64(xv)
			}
			ri := r[i]
			dr := d[i*V : i*V+D]
			for j, xv := range xf {
				u := float64(w[j]) * float64(g[j])
				dr[j] = float32(k * (ri*u - dot*ri*ri*ri*float64(xv)/float64(D)))
				gw[j] += float32(k * float64(g[j]) * float64(xv) * ri)
				gn[j] += float32(k * float64(w[j]) * float64(xv) * ri)
			}
			gb += k
		}
		addHost(e, cr.gw, gw)
		addHost(e, cr.gb, []float32{float32(gb)})
		addHost(e, gr.Norm, gn)
		uploadGrad(e, logits, d)
		o.Value = loss
		return model.LossInfo{Loss: o.Coef * loss, CE: loss, Targets: int(tokens)}, 0, nil
	}
	return m.LossAndGradHead(p.Batch(), gr, scale, head)
}

// addHost adds host values h into tensor t.
func addHost(e model.Engine, t model.Tensor, h []float32) {
	u := e.Upload(h)
	e.Add(t, t, u, len(h))
	e.Free(u)
}
