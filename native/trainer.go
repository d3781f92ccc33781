package native

import (
	"errors"
	"fmt"
	"math"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
)

// OptimConfig holds the optimizer settings: AdamW with PyTorch semantics,
// global-norm gradient clipping and gradient accumulation.
type OptimConfig struct {
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64 // decoupled, on every parameter
	Clip         float64 // global gradient-norm limit; ≤ 0 disables clipping
	Accum        int     // micro-batches per optimizer step
}

// DefaultOptim returns MiniMind's settings: β 0.9/0.999, eps 1e-8, weight
// decay 0.01, clip 1.0, no accumulation.
func DefaultOptim() OptimConfig {
	return OptimConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Clip: 1, Accum: 1}
}

// Validate checks the settings.
func (o OptimConfig) Validate() error {
	if o.Accum < 1 {
		return fmt.Errorf("native: accumulation_steps must be ≥ 1, got %d", o.Accum)
	}
	if !(o.Beta1 >= 0 && o.Beta1 < 1 && o.Beta2 >= 0 && o.Beta2 < 1) || !(o.Eps > 0) || !(o.WeightDecay >= 0) {
		return fmt.Errorf("native: invalid AdamW settings β=(%g, %g) eps=%g weight_decay=%g", o.Beta1, o.Beta2, o.Eps, o.WeightDecay)
	}
	if math.IsNaN(o.Clip) {
		return errors.New("native: grad_clip is NaN")
	}
	return nil
}

// Schedule is MiniMind's learning-rate schedule: a cosine from 1.0·LR down
// to 0.1·LR over Total micro-steps, lr(t) = LR·(0.1 + 0.45·(1 + cos(π·t/Total))),
// with an optional linear warm-up over the first Warmup micro-steps (our
// addition; MiniMind has none).
type Schedule struct {
	LR     float64
	Total  int
	Warmup int
}

// At returns the learning rate of micro-step t (counting from 1).
func (s Schedule) At(t int) float64 {
	total := max(s.Total, 1)
	lr := s.LR * (0.1 + 0.45*(1+math.Cos(math.Pi*float64(t)/float64(total))))
	if s.Warmup > 0 && t < s.Warmup {
		lr *= float64(t) / float64(s.Warmup)
	}
	return lr
}

// Trainer owns a model's gradients and optimizer state and runs micro-steps.
// It is not safe for concurrent use.
type Trainer struct {
	Model *model.Model
	Optim OptimConfig

	// Objective is the stage's loss (nil: MiniMind's cross-entropy).
	Objective Objective

	eng     model.TrainEngine
	lora    *model.LoRA    // non-nil: only the adapters train
	scratch *model.Weights // frozen base's gradients (LoRA): computed, never used
	weights []model.Tensor // the trained parameters, canonical order
	grads   []model.Tensor // [same shapes] accumulated gradients
	m, v    []model.Tensor // [same shapes] AdamW moments
	sizes   []int
	names   []string
	shapes  [][]int
	steps   int // optimizer steps taken (AdamW's step count)
	pending int // micro-batches accumulated since the last optimizer step
	// clipped, when set (tests), sees every parameter's gradient as AdamW
	// receives it (after clipping) at each optimizer step.
	clipped func(name string, g []float32)
}

// NewTrainer prepares gradients and zeroed AdamW moments for m, whose
// engine must be a model.TrainEngine.
func NewTrainer(m *model.Model, o OptimConfig) (*Trainer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	eng, ok := m.Engine.(model.TrainEngine)
	if !ok {
		return nil, fmt.Errorf("native: the %s engine cannot train", m.Engine.Name())
	}
	t := &Trainer{Model: m, Optim: o, eng: eng}
	g := m.NewGrads()
	gp := m.Config.Params(g)
	for i, p := range m.Config.Params(m.W) {
		t.add(p.Name, p.Shape, *p.Ptr, *gp[i].Ptr)
	}
	return t, nil
}

// NewLoRATrainer prepares a trainer of m's LoRA adapters only (the base
// weights stay frozen; AdamW, weight decay and clipping see the adapters
// alone, as MiniMind's train_lora).
func NewLoRATrainer(m *model.Model, o OptimConfig) (*Trainer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	eng, ok := m.Engine.(model.TrainEngine)
	if !ok {
		return nil, fmt.Errorf("native: the %s engine cannot train", m.Engine.Name())
	}
	if m.LoRA == nil {
		return nil, errors.New("native: the model has no LoRA adapters")
	}
	// The frozen base needs no weight gradients: the linear layers' and the
	// embedding's are skipped (nil); the norms' small ones are computed into
	// scratch and never used.
	scratch := &model.Weights{}
	for _, p := range m.Config.Params(scratch) {
		if len(p.Shape) == 1 {
			*p.Ptr = eng.Alloc(p.Size())
		}
	}
	t := &Trainer{Model: m, Optim: o, eng: eng, lora: m.LoRA, scratch: scratch}
	m.LoRA.EnableGrads(eng)
	for _, p := range m.LoRA.Params() {
		t.add(p.Name, p.Shape, p.W, p.G)
	}
	return t, nil
}

// add registers one trained parameter with zeroed AdamW moments.
func (t *Trainer) add(name string, shape []int, w, g model.Tensor) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	t.weights = append(t.weights, w)
	t.grads = append(t.grads, g)
	t.m = append(t.m, t.eng.Alloc(n))
	t.v = append(t.v, t.eng.Alloc(n))
	t.sizes = append(t.sizes, n)
	t.names = append(t.names, name)
	t.shapes = append(t.shapes, shape)
}

// Adapters copies the trained adapters to the host (nil for full training).
func (t *Trainer) Adapters() *checkpoint.Adapters {
	l := t.lora
	if l == nil {
		return nil
	}
	a := &checkpoint.Adapters{Rank: l.Rank, Alpha: l.Alpha, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	for _, p := range l.Params() {
		a.Tensors[p.Name], a.Shapes[p.Name] = t.eng.Read(p.W), p.Shape
	}
	return a
}

// LoRA returns the adapters being trained (nil for full training).
func (t *Trainer) LoRA() *model.LoRA { return t.lora }

// Steps is the number of optimizer steps taken.
func (t *Trainer) Steps() int { return t.steps }

// Pending is the number of micro-batches accumulated since the last
// optimizer step.
func (t *Trainer) Pending() int { return t.pending }

// MicroResult reports one micro-step.
type MicroResult struct {
	model.LossInfo
	// Stepped is true when the micro-step ended with an optimizer step.
	Stepped bool
	// GradNorm is the global gradient norm before clipping (when Stepped).
	GradNorm float64
}

// MicroStep runs forward and backward on b, adding the gradient of
// loss/Accum to the accumulated gradients, and steps the optimizer with
// learning rate lr when Accum micro-batches have been accumulated. A loss or
// gradient norm that is NaN or infinite returns an error wrapping
// model.ErrNonFinite and leaves the weights untouched.
func (t *Trainer) MicroStep(b model.Batch, lr float64) (MicroResult, error) {
	scale := float32(1 / float64(t.Optim.Accum))
	var info model.LossInfo
	var err error
	if t.Objective != nil {
		info, err = t.Objective.LossAndGrad(t.Model, b, t.gradWeights(), scale)
	} else {
		info, err = t.Model.LossAndGrad(b, t.gradWeights(), scale)
	}
	if err != nil {
		return MicroResult{}, err
	}
	if !finite(info.Loss) {
		return MicroResult{LossInfo: info}, fmt.Errorf("%w: %v (cross-entropy %v, aux %v)", model.ErrNonFinite, info.Loss, info.CE, info.Aux)
	}
	t.pending++
	r := MicroResult{LossInfo: info}
	if t.pending >= t.Optim.Accum {
		r.GradNorm, err = t.Step(lr)
		r.Stepped = err == nil
	}
	return r, err
}

// gradWeights views the gradient tensors as a model.Weights (for LoRA, the
// frozen base's scratch gradients).
func (t *Trainer) gradWeights() *model.Weights {
	if t.scratch != nil {
		return t.scratch
	}
	g := &model.Weights{}
	for i, p := range t.Model.Config.Params(g) {
		*p.Ptr = t.grads[i]
	}
	return g
}

// Step clips the accumulated gradients to the global norm Clip (as
// torch.nn.utils.clip_grad_norm_: scaled by Clip/(norm+1e-6) when that is
// below 1), applies one AdamW update with learning rate lr and zeroes the
// gradients. It returns the norm before clipping. It does nothing but
// return 0 when no micro-batch is pending.
func (t *Trainer) Step(lr float64) (float64, error) {
	if t.pending == 0 {
		return 0, nil
	}
	e := t.eng
	var ss float64
	for i, g := range t.grads {
		ss += e.SumSquares(g, t.sizes[i])
	}
	norm := math.Sqrt(ss)
	if !finite(norm) {
		t.ZeroGrads()
		return norm, fmt.Errorf("%w: the gradient norm is %v", model.ErrNonFinite, norm)
	}
	if t.Optim.Clip > 0 {
		if coef := t.Optim.Clip / (norm + 1e-6); coef < 1 {
			for i, g := range t.grads {
				e.Scale(g, t.sizes[i], float32(coef))
			}
		}
	}
	if t.clipped != nil {
		for i, g := range t.grads {
			t.clipped(t.names[i], e.Read(g)[:t.sizes[i]])
		}
	}
	t.steps++
	s := model.AdamWStep{LR: float32(lr), Beta1: float32(t.Optim.Beta1), Beta2: float32(t.Optim.Beta2),
		Eps: float32(t.Optim.Eps), WeightDecay: float32(t.Optim.WeightDecay), Step: t.steps}
	for i, p := range t.weights {
		e.AdamW(p, t.grads[i], t.m[i], t.v[i], t.sizes[i], s)
	}
	t.ZeroGrads()
	return norm, nil
}

// ZeroGrads clears the accumulated gradients and the pending count.
func (t *Trainer) ZeroGrads() {
	for i, g := range t.grads {
		t.eng.Zero(g, t.sizes[i])
	}
	if t.scratch != nil {
		for _, p := range t.Model.Config.Params(t.scratch) {
			if *p.Ptr != nil {
				t.eng.Zero(*p.Ptr, p.Size())
			}
		}
	}
	t.pending = 0
}

// HostWeights copies the model's weights (the base, for LoRA) to host memory.
func (t *Trainer) HostWeights() *model.Weights {
	w := &model.Weights{}
	src := t.Model.Config.Params(t.Model.W)
	for i, p := range t.Model.Config.Params(w) {
		*p.Ptr = &model.Host{Data: t.eng.Read(*src[i].Ptr)}
	}
	return w
}

// Objective is a training stage's loss: it runs forward and backward on
// one micro-batch, adding scale·∂loss/∂w into g (and into the LoRA
// adapters' gradients when they train), and returns the unscaled loss.
type Objective interface {
	LossAndGrad(m *model.Model, b model.Batch, g *model.Weights, scale float32) (model.LossInfo, error)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
