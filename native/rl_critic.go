package native

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/safetensors"
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

// Save writes the critic as a Hugging Face folder (the body, tied as
// MiniMind's) plus value_head.safetensors (value_head.weight [1, D],
// value_head.bias [1]), each file atomically.
func (c *Critic) Save(dir string) error {
	w := c.Trainer.HostWeights()
	w.LMHead = nil
	cfg := c.Model.Config
	cfg.TieEmbedding = true
	if err := checkpoint.Save(dir, cfg, w, checkpoint.SaveOptions{}); err != nil {
		return err
	}
	hw, hb := c.Head()
	D := cfg.Hidden
	ts := []safetensors.Tensor{
		{Name: "value_head.weight", DType: safetensors.F32, Shape: []int{1, D}, Data: hw},
		{Name: "value_head.bias", DType: safetensors.F32, Shape: []int{1}, Data: []float32{hb}},
	}
	return checkpoint.WriteAtomic(filepath.Join(dir, "value_head.safetensors"), func(w io.Writer) error {
		return safetensors.Write(w, ts, map[string]string{"format": "pt"})
	})
}

// SaveResume writes the critic's weights (body and head), AdamW moments
// and step count atomically.
func (c *Critic) SaveResume(path string) error {
	t := c.Trainer
	if t.pending != 0 {
		return errors.New("native: critic: cannot save with gradient pending")
	}
	var ts []safetensors.Tensor
	add := func(prefix string, list []model.Tensor) {
		for i, x := range list {
			ts = append(ts, safetensors.Tensor{Name: prefix + t.names[i], DType: safetensors.F32, Shape: t.shapes[i], Data: t.eng.Read(x)})
		}
	}
	add("", t.weights)
	add(expAvgPrefix, t.m)
	add(expAvgSqPrefix, t.v)
	meta := map[string]string{"format": "pt", "minimind.critic_steps": strconv.Itoa(t.steps)}
	return checkpoint.WriteAtomic(path, func(w io.Writer) error { return safetensors.Write(w, ts, meta) })
}

// LoadResume restores what SaveResume wrote into c.
func (c *Critic) LoadResume(path string) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("native: critic resume: %w", err)
	}
	defer f.Close()
	t := c.Trainer
	steps, err := strconv.Atoi(f.Metadata()["minimind.critic_steps"])
	if err != nil {
		return fmt.Errorf("native: critic resume %s: no step count", path)
	}
	for i, name := range t.names {
		for _, x := range []struct {
			prefix string
			dst    *model.Tensor
		}{{"", &t.weights[i]}, {expAvgPrefix, &t.m[i]}, {expAvgSqPrefix, &t.v[i]}} {
			d, err := f.Float32(x.prefix + name)
			if err != nil {
				return fmt.Errorf("native: critic resume %s: %s: %w", path, x.prefix+name, err)
			}
			if len(d) != t.sizes[i] {
				return fmt.Errorf("native: critic resume %s: %s has %d values, want %d", path, x.prefix+name, len(d), t.sizes[i])
			}
			u := t.eng.Upload(d)
			t.eng.Copy(*x.dst, 0, u, 0, len(d))
			t.eng.Free(u)
		}
	}
	t.steps = steps
	t.ZeroGrads()
	return nil
}
