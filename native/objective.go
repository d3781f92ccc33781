package native

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/vmath"
)

// The post-training objectives compute their loss heads on the host: the
// logits [N, V] are read back, the loss and ∂loss/∂logits are computed in
// float64 and the gradient is uploaded in place of the logits. That works on
// every engine; on a GPU it costs one round trip of the logits per
// micro-batch.

// softmaxRow writes p = softmax(x/temp) and returns the log-partition
// lse = log Σ_j e^(x_j/temp), so log p_j = x_j/temp − lse. The exponentials
// are the CPU engine's (model/vmath), the sums float64.
func softmaxRow(p, x []float32, temp float32) float64 {
	src := x
	if temp != 1 {
		for i, v := range x {
			p[i] = v / temp
		}
		src = p
	}
	mx := src[0]
	for _, v := range src {
		mx = max(mx, v)
	}
	sum := vmath.ExpShift(p, src, mx)
	inv := float32(1 / sum)
	for i := range p[:len(x)] {
		p[i] *= inv
	}
	return float64(mx) + math.Log(sum)
}

// forRows runs f over rows [0, n) split across the CPU cores; each worker
// gets its own scratch of scratchLen float32s.
func forRows(n, scratchLen int, f func(r int, scratch []float32)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/8))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scratch := make([]float32, scratchLen)
			for r := w; r < n; r += workers {
				f(r, scratch)
			}
		}()
	}
	wg.Wait()
}

// uploadGrad replaces logits [n] with the host gradient d.
func uploadGrad(e model.TrainEngine, logits model.Tensor, d []float32) {
	t := e.Upload(d)
	e.Copy(logits, 0, t, 0, len(d))
	e.Free(t)
}

// shiftTargets returns the targets [B·T] of b (row t predicts Labels[t+1];
// IgnoreIndex elsewhere) and their count.
func shiftTargets(b model.Batch) ([]int32, int) {
	tgt := make([]int32, b.B*b.T) // [B, T]
	n := 0
	for r := range b.B {
		for t := range b.T {
			l := int32(model.IgnoreIndex)
			if t+1 < b.T {
				l = b.Labels[r*b.T+t+1]
			}
			tgt[r*b.T+t] = l
			if l != model.IgnoreIndex {
				n++
			}
		}
	}
	return tgt, n
}

// Reason is MiniMind's reasoning SFT loss (train_reason.py): per-token
// cross-entropy weighted Weight on targets whose id is in TagIDs and 1 on
// the other labelled targets, divided by the number of labelled targets
// (not by the weights' sum), plus the MoE aux loss.
type Reason struct {
	TagIDs []int32
	Weight float64
	// NormalizeWeights divides by Σw instead of the target count (our
	// option: a weighted mean; MiniMind divides by the count).
	NormalizeWeights bool
}

// LossAndGrad implements Objective.
func (o *Reason) LossAndGrad(m *model.Model, b model.Batch, g *model.Weights, scale float32) (model.LossInfo, error) {
	tgt, count := shiftTargets(b)
	w := make([]float64, len(tgt)) // [B·T] per-target weights
	var wsum float64
	for i, l := range tgt {
		if l == model.IgnoreIndex {
			continue
		}
		w[i] = 1
		if slices.Contains(o.TagIDs, l) {
			w[i] = o.Weight
		}
		wsum += w[i]
	}
	den := float64(count)
	if o.NormalizeWeights {
		den = wsum
	}
	e := m.Engine.(model.TrainEngine)
	head := func(logits model.Tensor, N, V int) (model.LossInfo, float64, error) {
		x := e.Read(logits) // [N, V]
		d := make([]float32, N*V)
		rowLoss := make([]float64, N)
		forRows(N, 0, func(r int, _ []float32) {
			if tgt[r] == model.IgnoreIndex || den == 0 {
				return
			}
			dr := d[r*V : (r+1)*V]
			lse := softmaxRow(dr, x[r*V:(r+1)*V], 1)
			rowLoss[r] = (lse - float64(x[r*V+int(tgt[r])])) * w[r] / den
			k := float32(float64(scale) * w[r] / den)
			for j := range dr {
				dr[j] *= k
			}
			dr[tgt[r]] -= k
		})
		var loss float64
		for _, l := range rowLoss {
			loss += l
		}
		uploadGrad(e, logits, d)
		return model.LossInfo{Loss: loss, CE: loss, Targets: count}, 1, nil
	}
	return m.LossAndGradHead(b, g, scale, head)
}

// Distill is MiniMind's white-box distillation loss (train_distillation.py):
// α·CE + (1−α)·T²·KL(teacher‖student) over the labelled targets, with
// CE = Σ ce / (count + 1e-8) (+ the student's MoE aux loss, inside α·CE) and
// KL = Σ_rows Σ_v p_t (log p_t − log q_s) / rows, p_t = softmax(teacher/T),
// q_s = softmax(student/T). The teacher's logits are cut to the student's
// vocabulary.
type Distill struct {
	Teacher *model.Model
	Alpha   float64
	Temp    float64
}

// LossAndGrad implements Objective.
func (o *Distill) LossAndGrad(m *model.Model, b model.Batch, g *model.Weights, scale float32) (model.LossInfo, error) {
	if o.Teacher.Config.Vocab < m.Config.Vocab {
		return model.LossInfo{}, fmt.Errorf("native: distill: the teacher's vocabulary (%d) is smaller than the student's (%d)", o.Teacher.Config.Vocab, m.Config.Vocab)
	}
	tgt, count := shiftTargets(b)
	tl, err := o.Teacher.Forward(b.Input, b.B, model.ForwardOptions{Positions: b.Positions, Docs: b.Docs})
	if err != nil {
		return model.LossInfo{}, fmt.Errorf("native: distill: teacher: %w", err)
	}
	tx := o.Teacher.Engine.Read(tl) // [N, Vt]
	o.Teacher.Engine.Free(tl)
	Vt := o.Teacher.Config.Vocab
	e := m.Engine.(model.TrainEngine)
	a, T := o.Alpha, o.Temp
	head := func(logits model.Tensor, N, V int) (model.LossInfo, float64, error) {
		x := e.Read(logits) // [N, V]
		d := make([]float32, N*V)
		if count == 0 {
			uploadGrad(e, logits, d)
			return model.LossInfo{}, a, nil
		}
		ceDen, klDen := float64(count)+1e-8, float64(count)
		kce := float32(float64(scale) * a / ceDen)
		kkl := float32(float64(scale) * (1 - a) * T / klDen)
		ces, kls := make([]float64, N), make([]float64, N)
		forRows(N, 2*V, func(r int, scratch []float32) {
			if tgt[r] == model.IgnoreIndex {
				return
			}
			xr, tr := x[r*V:(r+1)*V], tx[r*Vt:r*Vt+V]
			q, p := scratch[:V], scratch[V:] // softmax(s/T), softmax(t/T)
			dr := d[r*V : (r+1)*V]
			lse := softmaxRow(dr, xr, 1)
			lq := softmaxRow(q, xr, float32(T))
			lp := softmaxRow(p, tr, float32(T))
			ces[r] = lse - float64(xr[tgt[r]])
			// KL(p‖q) = Σ p (log p − log q), log p − log q = (t − s)/T − lp + lq.
			var k float64
			for j := range p {
				k += float64(p[j]) * ((float64(tr[j])-float64(xr[j]))/T - lp + lq)
			}
			kls[r] = k
			for j := range dr {
				dr[j] = kce*dr[j] + kkl*(q[j]-p[j])
			}
			dr[tgt[r]] -= kce
		})
		var ce, kl float64
		for r := range N {
			ce += ces[r]
			kl += kls[r]
		}
		ce /= ceDen
		kl = T * T * kl / klDen
		uploadGrad(e, logits, d)
		return model.LossInfo{Loss: a*ce + (1-a)*kl, CE: ce, Targets: count}, a, nil
	}
	return m.LossAndGradHead(b, g, scale, head)
}

// DPO is MiniMind's direct preference optimisation loss (train_dpo.py). A
// micro-batch holds P pairs as 2P rows, the P chosen answers first, each
// row the full padded sequence with SFT labels (the assistant span). The
// model sees x = ids[:, :-1]; the per-row log-probability is the sum of
// log softmax(logits)[ids[t+1]] over labelled targets; with
// d = (π_c − π_r) − (ref_c − ref_r) the loss is mean(−log σ(β·d)) + aux.
type DPO struct {
	Beta float64
	// Ref is the frozen reference model (run every micro-step), unless
	// Cache holds the reference log-probabilities of every pair.
	Ref   *model.Model
	Cache *RefCache
}

// dpoInput cuts the last column of b: the forward batch of x = ids[:, :-1].
func dpoInput(b model.Batch) model.Batch {
	T := b.T - 1
	x := model.Batch{B: b.B, T: T, Input: make([]int32, b.B*T), Labels: make([]int32, b.B*T)}
	for r := range b.B {
		copy(x.Input[r*T:(r+1)*T], b.Input[r*b.T:])
		copy(x.Labels[r*T:(r+1)*T], b.Labels[r*b.T:])
	}
	return x
}

// dpoTargets are the targets of x: ids[t+1] where labelled, [B·(T−1)].
func dpoTargets(b model.Batch) ([]int32, int) {
	T := b.T - 1
	tgt := make([]int32, b.B*T)
	n := 0
	for r := range b.B {
		for t := range T {
			tgt[r*T+t] = model.IgnoreIndex
			if b.Labels[r*b.T+t+1] != model.IgnoreIndex {
				tgt[r*T+t] = b.Input[r*b.T+t+1]
				n++
			}
		}
	}
	return tgt, n
}

// seqLogps sums the target log-probabilities of logits [rows·T, V] per
// row; when d is not nil it also receives the softmax of every target row.
func seqLogps(x []float32, tgt []int32, rows, T, V int, d []float32) []float64 {
	lp := make([]float64, rows*T)
	forRows(rows*T, V, func(i int, scratch []float32) {
		if tgt[i] == model.IgnoreIndex {
			return
		}
		p := scratch
		if d != nil {
			p = d[i*V : (i+1)*V]
		}
		lse := softmaxRow(p, x[i*V:(i+1)*V], 1)
		lp[i] = float64(x[i*V+int(tgt[i])]) - lse
	})
	out := make([]float64, rows)
	for i, v := range lp {
		out[i/T] += v
	}
	return out
}

// RefLogps runs the reference model on a DPO micro-batch and returns the
// summed log-probabilities of its 2P rows.
func RefLogps(ref *model.Model, b model.Batch) ([]float64, error) {
	if b.T < 2 {
		return nil, fmt.Errorf("native: dpo: rows of %d tokens are too short", b.T)
	}
	x := dpoInput(b)
	tgt, _ := dpoTargets(b)
	logits, err := ref.Forward(x.Input, x.B, model.ForwardOptions{})
	if err != nil {
		return nil, fmt.Errorf("native: dpo: reference: %w", err)
	}
	v := ref.Engine.Read(logits)
	ref.Engine.Free(logits)
	return seqLogps(v, tgt, x.B, x.T, ref.Config.Vocab, nil), nil
}

// LossAndGrad implements Objective.
func (o *DPO) LossAndGrad(m *model.Model, b model.Batch, g *model.Weights, scale float32) (model.LossInfo, error) {
	if b.B%2 != 0 || b.T < 2 {
		return model.LossInfo{}, fmt.Errorf("native: dpo: a micro-batch needs chosen and rejected rows, got %d×%d", b.B, b.T)
	}
	P := b.B / 2
	var ref []float64
	switch {
	case o.Cache != nil:
		if len(b.Samples) != P {
			return model.LossInfo{}, fmt.Errorf("native: dpo: the reference cache needs the pairs' indices")
		}
		ref = make([]float64, 2*P)
		for i, s := range b.Samples {
			c, r, err := o.Cache.Get(int(s))
			if err != nil {
				return model.LossInfo{}, err
			}
			ref[i], ref[P+i] = c, r
		}
	case o.Ref != nil:
		var err error
		if ref, err = RefLogps(o.Ref, b); err != nil {
			return model.LossInfo{}, err
		}
	default:
		return model.LossInfo{}, fmt.Errorf("native: dpo: no reference model and no reference cache")
	}
	x := dpoInput(b)
	tgt, count := dpoTargets(b)
	e := m.Engine.(model.TrainEngine)
	beta := o.Beta
	head := func(logits model.Tensor, N, V int) (model.LossInfo, float64, error) {
		v := e.Read(logits)       // [N, V]
		d := make([]float32, N*V) // softmax rows, then the gradient
		pi := seqLogps(v, tgt, x.B, x.T, V, d)
		coef := make([]float64, x.B) // ∂loss/∂π per row
		var loss float64
		for i := range P {
			dl := (pi[i] - pi[P+i]) - (ref[i] - ref[P+i])
			z := beta * dl
			// −log σ(z) = softplus(−z); its derivative is −σ(−z).
			loss += softplus(-z) / float64(P)
			gd := -beta * sigmoid(-z) / float64(P)
			coef[i], coef[P+i] = gd, -gd
		}
		forRows(N, 0, func(i int, _ []float32) {
			if tgt[i] == model.IgnoreIndex {
				return
			}
			// π = Σ log softmax(x)[y]: ∂π/∂x = onehot(y) − softmax(x).
			k := float32(-float64(scale) * coef[i/x.T])
			dr := d[i*V : (i+1)*V]
			for j := range dr {
				dr[j] *= k
			}
			dr[tgt[i]] -= k
		})
		uploadGrad(e, logits, d)
		return model.LossInfo{Loss: loss, CE: loss, Targets: count}, 1, nil
	}
	return m.LossAndGradHead(x, g, scale, head)
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
